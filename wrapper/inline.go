package safemap

import (
	"math/bits"
	"reflect"
	"unsafe"
)

// storesInline reports whether values of type V are kept in an entry's
// 64-bit word. That holds for types of at most eight bytes that contain no
// pointers (integers, floats, booleans and small arrays and structs of them):
// their bits can be stored and loaded atomically without the garbage
// collector needing to see them, so writing an existing key allocates
// nothing. Other values are kept in an immutable entry that each write
// replaces.
func storesInline[V any]() bool {
	t := reflect.TypeFor[V]()
	return t.Size() <= 8 && pointerFree(t)
}

// pointerFree reports whether values of type t contain no pointers.
func pointerFree(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return t.Len() == 0 || pointerFree(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !pointerFree(t.Field(i).Type) {
				return false
			}
		}
		return true
	default:
		return false
	}
}

// toWord returns the bits of v, a value for which storesInline is true, as a
// word.
func toWord[V any](v V) uint64 {
	var w uint64
	if unsafe.Sizeof(v) > unsafe.Sizeof(w) {
		panic("safemap: value too large to store inline")
	}
	*(*V)(unsafe.Pointer(&w)) = v
	return w
}

// fromWord is the inverse of toWord.
func fromWord[V any](w uint64) V {
	var v V
	if unsafe.Sizeof(v) > unsafe.Sizeof(w) {
		panic("safemap: value too large to store inline")
	}
	return *(*V)(unsafe.Pointer(&w))
}

// keyKind selects how keys are hashed.
type keyKind uint8

const (
	otherKey   keyKind = iota // hashed with maphash.Comparable
	integerKey                // hashed with hashInt
	stringKey                 // hashed with maphash.String
)

// keyKindOf returns the keyKind for keys of type K. Integer and string keys,
// including named types based on them, are hashed without going through
// maphash.Comparable, which calls the runtime's hash function indirectly.
func keyKindOf[K any]() keyKind {
	switch reflect.TypeFor[K]().Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return integerKey
	case reflect.String:
		return stringKey
	}
	return otherKey
}

// stringOf returns k, a value of a type whose underlying type is string, as
// a string.
func stringOf[K any](k K) string {
	var s string
	if unsafe.Sizeof(k) != unsafe.Sizeof(s) {
		panic("safemap: not a string key")
	}
	return *(*string)(unsafe.Pointer(&k))
}

// intBits returns the bits of k, a value of an integer type.
func intBits[K any](k K) uint64 {
	switch unsafe.Sizeof(k) {
	case 8:
		return *(*uint64)(unsafe.Pointer(&k))
	case 4:
		return uint64(*(*uint32)(unsafe.Pointer(&k)))
	case 2:
		return uint64(*(*uint16)(unsafe.Pointer(&k)))
	case 1:
		return uint64(*(*uint8)(unsafe.Pointer(&k)))
	}
	panic("safemap: not an integer key")
}

// hashInt mixes the bits of an integer key with a per-Map seed, spreading
// every input bit over the whole result, with two rounds of 128-bit
// multiply-and-fold as in wyhash: several times cheaper than
// maphash.Comparable.
func hashInt(seed, x uint64) uint64 {
	hi, lo := bits.Mul64(x^seed, 0x2d358dccaa6c78a5)
	hi, lo = bits.Mul64(hi^lo, 0x8bb84b93962eacc9)
	return hi ^ lo
}
