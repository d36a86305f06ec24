package difftest

// typ describes a key or value type the generator uses: how to write it,
// expressions of it, and which operations and kinds of printing apply.
type typ struct {
	expr string   // Go syntax of the type
	vals []string // expressions of the type, distinct for key types
	// ops lists the operators usable in op= with a value of this type.
	ops []string
	// incdec reports whether ++ and -- apply.
	incdec bool
	// ordered reports whether slices.Sorted accepts the type.
	ordered bool
	// printable reports whether fmt prints a map with values (or keys) of
	// this type deterministically: no pointers, no functions, no NaN.
	printable bool
	// jsonKey reports whether encoding/json accepts it as a map key;
	// jsonValue whether it encodes values of it.
	jsonKey, jsonValue bool
	// operands are expressions usable on the right of op=, by operator;
	// "" holds the default ones.
	operands map[string][]string
	kind     kind
}

type kind int

const (
	kindBasic kind = iota
	kindString
	kindSlice
	kindStruct
	kindPointer
	kindFunc
	kindChan
	kindInterface
	kindMap
	kindFloat
)

var intOps = []string{"+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "&^"}

// keyTypes are the key types of generated maps.
var keyTypes = []*typ{
	{expr: "string", vals: []string{`"a"`, `"b"`, `"c"`, `""`, `"é"`}, ordered: true, printable: true, jsonKey: true, kind: kindString},
	{expr: "int", vals: []string{"0", "1", "2", "-3", "40"}, ordered: true, printable: true, jsonKey: true},
	{expr: "uint8", vals: []string{"0", "1", "2", "255"}, ordered: true, printable: true, jsonKey: true},
	{expr: "float64", vals: []string{"0.5", "1", "-2.5", "0", "nan()"}, ordered: true, kind: kindFloat},
	{expr: "bool", vals: []string{"true", "false"}, printable: true},
	{expr: "Pt", vals: []string{`Pt{1, "a"}`, `Pt{2, "b"}`, `Pt{}`, `Pt{N: -1}`}, printable: true, kind: kindStruct},
	{expr: "any", vals: []string{"1", `"a"`, "2.5", `Pt{3, "c"}`, "true"}, printable: true, kind: kindInterface},
	{expr: "Name", vals: []string{`"x"`, `"y"`, `Name("z")`}, ordered: true, printable: true, jsonKey: true, kind: kindString},
	{expr: "[2]int", vals: []string{"[2]int{1, 2}", "[2]int{}", "[2]int{2, 1}"}, printable: true},
}

// valueTypes are the value types of generated maps.
var valueTypes = []*typ{
	{expr: "int", vals: []string{"1", "-2", "7", "100"}, ops: intOps, incdec: true, ordered: true, printable: true, jsonValue: true,
		operands: map[string][]string{"": {"3", "-2", "ten()"}, "/": {"3", "zero()", "-2"}, "%": {"3", "zero()"}, "<<": {"1", "3", "70"}, ">>": {"1", "2", "70"}}},
	{expr: "uint8", vals: []string{"1", "200", "255"}, ops: intOps, incdec: true, ordered: true, printable: true, jsonValue: true,
		operands: map[string][]string{"": {"3", "uint8(ten())", "250"}, "/": {"3", "uint8(zero())"}, "%": {"7", "uint8(zero())"}, "<<": {"1", "9"}, ">>": {"1", "9"}}},
	{expr: "float64", vals: []string{"0.5", "2", "-1.25"}, ops: []string{"+", "-", "*", "/"}, incdec: true, ordered: true, printable: true, jsonValue: true,
		operands: map[string][]string{"": {"0.25", "3", "float64(zero())"}}, kind: kindFloat},
	{expr: "string", vals: []string{`"x"`, `"<b>"`, `""`, `"é&"`}, ops: []string{"+"}, ordered: true, printable: true, jsonValue: true,
		operands: map[string][]string{"": {`"y"`, `"<&>"`, `word()`}}, kind: kindString},
	{expr: "Name", vals: []string{`"n"`, `Name("m")`}, ops: []string{"+"}, ordered: true, printable: true, jsonValue: true,
		operands: map[string][]string{"": {`"-"`, `Name(word())`}}, kind: kindString},
	{expr: "bool", vals: []string{"true", "false"}, printable: true, jsonValue: true},
	{expr: "[]int", vals: []string{"[]int{1}", "nil", "[]int{}", "[]int{4, 5}"}, printable: true, jsonValue: true, kind: kindSlice},
	{expr: "Pt", vals: []string{`Pt{1, "a"}`, "Pt{}", `Pt{N: 5, S: "<"}`}, printable: true, jsonValue: true, kind: kindStruct},
	{expr: "*Pt", vals: []string{`&Pt{N: 2}`, "nil", `&Pt{3, "p"}`}, jsonValue: true, kind: kindPointer},
	{expr: "func() int", vals: []string{"func() int { return 1 }", "nil", "ten"}, kind: kindFunc},
	{expr: "chan int", vals: []string{"make(chan int, 2)", "nil", "make(chan int, 1)"}, kind: kindChan},
	{expr: "any", vals: []string{"1", `"s"`, `Pt{3, "c"}`, "nil", "[]int{1}"}, printable: true, jsonValue: true, kind: kindInterface},
	{expr: "map[string]int", vals: []string{`map[string]int{"x": 1}`, "nil", "map[string]int{}"}, printable: true, jsonValue: true, kind: kindMap},
}
