package safemap

import (
	"math"
	"math/bits"
	"reflect"
	"sync/atomic"
	"unsafe"
)

// storesInline reports whether values of type V are kept in an entry's
// 64-bit word. That holds for types of at most eight bytes that contain no
// pointers (integers, floats, booleans and small arrays and structs of them):
// their bits can be stored and loaded atomically without the garbage
// collector needing to see them. Other values are kept in a cell.
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

// isWordInteger reports whether V is a 64-bit integer type, whose sums
// wrap around in a uint64 word exactly as in V.
func isWordInteger[V any]() bool {
	t := reflect.TypeFor[V]()
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint64, reflect.Uintptr:
		return t.Size() == 8
	}
	return false
}

// cell holds a value in whole machine words, so that it can be copied one
// word at a time with atomic loads and stores.
type cell[V any] struct {
	_ [0]uintptr
	v V
}

// wordSize is the size of a machine word and of a pointer.
const wordSize = unsafe.Sizeof(uintptr(0))

// pointerWordsOf returns, for each machine word of a cell[V], whether it
// holds a pointer. Those words must be copied as pointers, so that the
// garbage collector sees every pointer stored; the others as integers.
func pointerWordsOf[V any]() []bool {
	words := make([]bool, unsafe.Sizeof(cell[V]{})/wordSize)
	markPointers(reflect.TypeFor[V](), 0, words)
	return words
}

// markPointers marks the words of words that hold the pointers of a value
// of type t stored at offset off.
func markPointers(t reflect.Type, off uintptr, words []bool) {
	switch t.Kind() {
	case reflect.Pointer, reflect.UnsafePointer, reflect.Map, reflect.Chan, reflect.Func,
		reflect.String, reflect.Slice:
		words[off/wordSize] = true // the first word is the pointer
	case reflect.Interface:
		words[off/wordSize] = true // type or method table
		words[off/wordSize+1] = true
	case reflect.Array:
		if pointerFree(t.Elem()) {
			return
		}
		for i := range t.Len() {
			markPointers(t.Elem(), off+uintptr(i)*t.Elem().Size(), words)
		}
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			markPointers(f.Type, off+f.Offset, words)
		}
	}
}

// loadWords copies the words of a cell at src, which a writer may be
// changing, to the cell at dst, which only the caller uses, with atomic
// loads. pointers marks the words that hold pointers. The copy may mix
// words of two values, but every word is one that was stored.
func loadWords(dst, src unsafe.Pointer, pointers []bool) {
	for i, pointer := range pointers {
		off := uintptr(i) * wordSize
		if pointer {
			*(*unsafe.Pointer)(unsafe.Add(dst, off)) = atomic.LoadPointer((*unsafe.Pointer)(unsafe.Add(src, off)))
		} else {
			*(*uintptr)(unsafe.Add(dst, off)) = atomic.LoadUintptr((*uintptr)(unsafe.Add(src, off)))
		}
	}
}

// storeWords copies the words of the cell at src, which only the caller
// uses, to the cell at dst, which readers may be loading, with atomic
// stores.
func storeWords(dst, src unsafe.Pointer, pointers []bool) {
	for i, pointer := range pointers {
		off := uintptr(i) * wordSize
		if pointer {
			atomic.StorePointer((*unsafe.Pointer)(unsafe.Add(dst, off)), *(*unsafe.Pointer)(unsafe.Add(src, off)))
		} else {
			atomic.StoreUintptr((*uintptr)(unsafe.Add(dst, off)), *(*uintptr)(unsafe.Add(src, off)))
		}
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

// keyUpdate selects how set tells apart equal keys that a built-in map
// would still distinguish after an assignment.
type keyUpdate uint8

const (
	noKeyUpdate      keyUpdate = iota // equal keys are identical (integers, strings, pointers, ...)
	bitsKeyUpdate                     // pointer-free keys holding floats: compare their bytes
	reflectKeyUpdate                  // other keys holding floats or interfaces: compare with reflect
)

// keyUpdateOf returns the keyUpdate for keys of type K. Equal keys can
// differ only when they hold floating-point numbers (0 and -0), directly
// or through an interface. Without pointers, a key is compared by its
// bytes, which may also tell apart keys that differ only in padding; that
// costs a needless replacement, never a wrong result.
func keyUpdateOf[K any]() keyUpdate {
	t := reflect.TypeFor[K]()
	switch {
	case holdsFloat(t) && pointerFree(t):
		return bitsKeyUpdate
	case holdsFloat(t) || holdsInterface(t):
		return reflectKeyUpdate
	}
	return noKeyUpdate
}

// holdsFloat reports whether values of type t contain a floating-point or
// complex number.
func holdsFloat(t reflect.Type) bool {
	return holds(t, func(k reflect.Kind) bool {
		return k == reflect.Float32 || k == reflect.Float64 || k == reflect.Complex64 || k == reflect.Complex128
	})
}

// holdsInterface reports whether values of type t contain an interface.
func holdsInterface(t reflect.Type) bool {
	return holds(t, func(k reflect.Kind) bool { return k == reflect.Interface })
}

// holds reports whether t, or a field or element of it, has a kind for
// which is reports true. Comparable types have no other parts.
func holds(t reflect.Type, is func(reflect.Kind) bool) bool {
	switch {
	case is(t.Kind()):
		return true
	case t.Kind() == reflect.Array:
		return t.Len() > 0 && holds(t.Elem(), is)
	case t.Kind() == reflect.Struct:
		for i := range t.NumField() {
			if holds(t.Field(i).Type, is) {
				return true
			}
		}
	}
	return false
}

// identicalKeys reports whether a and b, two equal keys, are also
// identical: whether storing b over a changes nothing a program can see.
func (m *Map[K, V]) identicalKeys(a, b K) bool {
	if m.keyUpdate == bitsKeyUpdate {
		n := unsafe.Sizeof(a)
		return unsafe.String((*byte)(unsafe.Pointer(&a)), n) == unsafe.String((*byte)(unsafe.Pointer(&b)), n)
	}
	return identical(reflect.ValueOf(any(a)), reflect.ValueOf(any(b)))
}

// identical reports whether a and b, two equal values of the same type, are
// also identical: whether every floating-point number in them has the same
// bits, which tells 0 from -0.
func identical(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Invalid: // two nil interfaces
		return true
	case reflect.Float32, reflect.Float64:
		return math.Float64bits(a.Float()) == math.Float64bits(b.Float())
	case reflect.Complex64, reflect.Complex128:
		x, y := a.Complex(), b.Complex()
		return math.Float64bits(real(x)) == math.Float64bits(real(y)) &&
			math.Float64bits(imag(x)) == math.Float64bits(imag(y))
	case reflect.Interface:
		return identical(a.Elem(), b.Elem())
	case reflect.Array:
		for i := range a.Len() {
			if !identical(a.Index(i), b.Index(i)) {
				return false
			}
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if !identical(a.Field(i), b.Field(i)) {
				return false
			}
		}
	}
	return true
}
