package racelog

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

var (
	// "Write at 0x00c0000880f0 by goroutine 8:", "Previous read at ... by main goroutine:".
	accessHeader = regexp.MustCompile(`^(Previous )?(?:[Aa]tomic )?([Rr]ead|[Ww]rite)(?: at 0x[0-9a-fA-F]+)? by (?:goroutine (\d+)|(main) goroutine):$`)
	// "Goroutine 8 (running) created at:".
	createdHeader = regexp.MustCompile(`^Goroutine (\d+) \([a-z ]+\) created at:$`)
	// "goroutine 7 [running]:", "goroutine 1 gp=0x... m=0 mp=0x... [runnable]:".
	goroutineHeader = regexp.MustCompile(`^goroutine (\d+)(?: [^\[]*)? \[[^\]]*\]:$`)
	// "created by main.main in goroutine 1".
	createdBy = regexp.MustCompile(`^created by (\S+)(?: in goroutine (\d+))?$`)
)

const (
	raceMarker  = "WARNING: DATA RACE"
	crashMarker = "fatal error: concurrent map "
	separator   = "=================="

	// maxCrashPreamble is how many lines may separate "fatal error:" from
	// the first goroutine header of its dump.
	maxCrashPreamble = 64
)

// Parse reads race detector reports and map crash dumps from r. Anything
// else in the input (test output, log lines, other panics) is skipped.
// The error is only about reading r; text that does not parse as a report
// is never an error.
func Parse(r io.Reader) (*Log, error) {
	lines, err := readLines(r)
	if err != nil {
		return nil, fmt.Errorf("read race log: %w", err)
	}
	p := &parser{lines: lines}
	log := &Log{}
	for p.i < len(p.lines) {
		line := p.lines[p.i]
		switch {
		case strings.Contains(line, raceMarker):
			start := p.i
			p.i++
			log.Reports = append(log.Reports, p.race(start))
		case strings.Contains(line, crashMarker):
			start := p.i
			msg := line[strings.Index(line, crashMarker)+len("fatal error: "):]
			p.i++
			log.Reports = append(log.Reports, p.crash(start, strings.TrimSpace(msg)))
		default:
			p.i++
		}
	}
	return log, nil
}

// Lines returns the lines of a log as Parse sees them: without line
// ends, and with the events of go test -json replaced by the output they
// carry.
func Lines(r io.Reader) ([]string, error) {
	return readLines(r)
}

// readLines splits r into lines of any length, dropping "\r". Events of
// go test -json are replaced by the output they carry.
func readLines(r io.Reader) ([]string, error) {
	br := bufio.NewReader(r)
	var lines []string
	// Output of go test -json not yet ended by a newline, by package:
	// events of packages tested in parallel may interleave.
	pending := map[string]string{}
	var order []string
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			line = strings.TrimRight(line, "\r\n")
			if ev, ok := testEventOutput(line); ok {
				if _, seen := pending[ev.Package]; !seen {
					order = append(order, ev.Package)
				}
				text := pending[ev.Package] + *ev.Output
				for {
					i := strings.IndexByte(text, '\n')
					if i < 0 {
						break
					}
					lines = append(lines, strings.TrimRight(text[:i], "\r"))
					text = text[i+1:]
				}
				pending[ev.Package] = text
			} else {
				lines = append(lines, line)
			}
		}
		if err == io.EOF {
			for _, pkg := range order {
				if pending[pkg] != "" {
					lines = append(lines, pending[pkg])
				}
			}
			return lines, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// testEvent is the part of a go test -json event that carries output.
type testEvent struct {
	Package string
	Output  *string
}

// testEventOutput decodes a go test -json line that carries output.
func testEventOutput(line string) (testEvent, bool) {
	var ev testEvent
	if !strings.HasPrefix(line, "{") || !strings.Contains(line, `"Output"`) {
		return ev, false
	}
	if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Output == nil {
		return ev, false
	}
	return ev, true
}

type parser struct {
	lines []string
	i     int // next line to read
}

// matchAccessHeader matches accessHeader, skipping the regular expression
// for the frame lines that make up most of a log.
func matchAccessHeader(s string) []string {
	if !strings.HasSuffix(s, "goroutine:") && !strings.Contains(s, " by goroutine ") {
		return nil
	}
	return accessHeader.FindStringSubmatch(s)
}

func matchCreatedHeader(s string) []string {
	if !strings.HasPrefix(s, "Goroutine ") {
		return nil
	}
	return createdHeader.FindStringSubmatch(s)
}

// race parses the body of a WARNING: DATA RACE block, up to its closing
// separator. Lines it does not recognise (output of other goroutines
// written in the middle of the report) are skipped.
func (p *parser) race(start int) *Report {
	rep := &Report{Kind: DataRace, Line: start + 1, Message: "DATA RACE"}
	created := map[int][]Frame{}
	var stack *[]Frame
	for p.i < len(p.lines) {
		line := p.lines[p.i]
		trimmed := strings.TrimSpace(line)
		if trimmed == separator || strings.Contains(line, raceMarker) || strings.Contains(line, crashMarker) {
			if trimmed == separator {
				p.i++
			}
			break
		}
		p.i++
		if m := matchAccessHeader(trimmed); m != nil {
			a := &Access{
				Previous: m[1] != "",
				Write:    strings.EqualFold(m[2], "write"),
			}
			if m[4] == "main" {
				a.Goroutine = 1
			} else {
				a.Goroutine, _ = strconv.Atoi(m[3])
			}
			rep.Accesses = append(rep.Accesses, a)
			stack = &a.Stack
			continue
		}
		if m := matchCreatedHeader(trimmed); m != nil {
			g, _ := strconv.Atoi(m[1])
			var frames []Frame
			p.collectInto(&frames)
			created[g] = frames
			stack = nil
			continue
		}
		if strings.HasSuffix(trimmed, ":") && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "\t") {
			// A section this parser does not know ("Location is heap
			// block ... allocated by goroutine 7:"): its frames are not
			// the access's.
			stack = nil
			continue
		}
		if stack != nil {
			if f, ok := p.frame(line); ok {
				*stack = append(*stack, f)
			}
		}
	}
	for _, a := range rep.Accesses {
		a.Op = runtimeMapOp(a.Stack)
		if a.Goroutine != 1 {
			a.Created = created[a.Goroutine]
		}
	}
	return rep
}

// collectInto appends the frames that follow to stack, stopping at the
// first blank line or header.
func (p *parser) collectInto(stack *[]Frame) {
	for p.i < len(p.lines) {
		line := p.lines[p.i]
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed == separator || matchAccessHeader(trimmed) != nil ||
			matchCreatedHeader(trimmed) != nil || strings.Contains(line, raceMarker) ||
			strings.Contains(line, crashMarker) {
			return
		}
		p.i++
		if f, ok := p.frame(line); ok {
			*stack = append(*stack, f)
		}
	}
}

// frame parses a function line (already consumed) followed by its file
// line, consuming the file line. It reports false, consuming nothing more,
// when line is not a function line followed by a file line.
func (p *parser) frame(line string) (Frame, bool) {
	name, args, ok := splitCall(strings.TrimSpace(line))
	if !ok || p.i >= len(p.lines) {
		return Frame{}, false
	}
	file, n, ok := fileLine(p.lines[p.i])
	if !ok {
		return Frame{}, false
	}
	p.i++
	return Frame{Func: name, File: file, Line: n, Inlined: args == "..."}, true
}

// fileLine parses the file line of a frame: indented, then the file name
// and ":line", then optionally " +0x2b" and more ("fp=... sp=..."):
//
//	"\t/path/x.go:14 +0x2b", "      x.go:9 +0xb1", "\t/path/x.go:7"
//
// The file name ends at the first ":digits" followed by a space or the
// end of the line, so Windows names ("C:\src\x.go") work; backslashes
// become slashes.
func fileLine(line string) (file string, n int, ok bool) {
	if line == "" || (line[0] != ' ' && line[0] != '\t') {
		return "", 0, false
	}
	s := strings.TrimLeft(line, " \t")
	for i := 1; i < len(s); i++ {
		if s[i] != ':' {
			continue
		}
		j := i + 1
		for j < len(s) && '0' <= s[j] && s[j] <= '9' {
			j++
		}
		if j == i+1 || (j < len(s) && s[j] != ' ' && s[j] != '\t') {
			continue
		}
		n, err := strconv.Atoi(s[i+1 : j])
		if err != nil {
			return "", 0, false
		}
		return strings.ReplaceAll(s[:i], `\`, "/"), n, true
	}
	return "", 0, false
}

// splitCall splits "pkg.(*T).M(0x1, {0x2, 0x3})" into the function name
// and the text between its final parentheses.
func splitCall(s string) (name, args string, ok bool) {
	if !strings.HasSuffix(s, ")") {
		return "", "", false
	}
	depth := 0
	for i := len(s) - 1; i >= 0; i-- {
		switch s[i] {
		case ')':
			depth++
		case '(':
			depth--
			if depth == 0 {
				name = s[:i]
				if name == "" || strings.ContainsAny(name, " \t") {
					return "", "", false
				}
				return name, s[i+1 : len(s)-1], true
			}
		}
	}
	return "", "", false
}

// crash parses the goroutine dump that follows "fatal error: concurrent
// map ...". The first goroutine is the one that crashed; later ones (with
// GOTRACEBACK=all or higher) become accesses only when they were inside
// the map implementation.
func (p *parser) crash(start int, message string) *Report {
	rep := &Report{Kind: MapCrash, Line: start + 1, Message: message}
	var cur *Access
	first := true
	seenGoroutine := false
	flush := func() {
		if cur == nil {
			return
		}
		if first {
			cur.Op, cur.Write = crashMapOp(message)
			rep.Accesses = append(rep.Accesses, cur)
			first = false
		} else if op := runtimeMapOp(cur.Stack); op != Direct {
			cur.Op = op
			cur.Write = op == Assign || op == Delete || op == Clear || op == Write
			rep.Accesses = append(rep.Accesses, cur)
		}
		cur = nil
	}
	for p.i < len(p.lines) {
		line := p.lines[p.i]
		trimmed := strings.TrimSpace(line)
		if strings.Contains(line, raceMarker) || strings.Contains(line, crashMarker) {
			break
		}
		p.i++
		switch {
		case trimmed == "" || strings.HasPrefix(trimmed, "...") || trimmed == "runtime stack:":
			continue
		case goroutineHeader.MatchString(trimmed):
			flush()
			m := goroutineHeader.FindStringSubmatch(trimmed)
			g, _ := strconv.Atoi(m[1])
			cur = &Access{Goroutine: g}
			seenGoroutine = true
			continue
		}
		if m := createdBy.FindStringSubmatch(trimmed); m != nil && p.i < len(p.lines) {
			if file, n, ok := fileLine(p.lines[p.i]); ok {
				p.i++
				if cur != nil {
					cur.Created = []Frame{{Func: m[1], File: file, Line: n}}
					cur.CreatedBy, _ = strconv.Atoi(m[2])
				}
				continue
			}
		}
		if f, ok := p.frame(line); ok {
			if cur != nil {
				cur.Stack = append(cur.Stack, f)
			}
			continue
		}
		if seenGoroutine {
			// The dump is over: "exit status 2", "FAIL ...".
			p.i--
			break
		}
		// Before the first goroutine the runtime may print register
		// dumps or signal information; skip them, but not forever: a
		// truncated dump must not swallow an unrelated one further on.
		if p.i-start > maxCrashPreamble {
			break
		}
	}
	flush()
	return rep
}
