package verify

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/safemapfix/safemapfix/racelog"
)

var (
	// "--- FAIL: TestX/sub (0.00s)"
	failLine = regexp.MustCompile(`^(\s*)--- FAIL: (\S+)`)
	// "=== RUN   TestX/sub", also NAME and CONT (go test -v).
	runLine = regexp.MustCompile(`^=== (?:RUN|NAME|CONT)\s+(\S+)`)
	// "    x_test.go:12: got 1, want 2": a message logged by a test.
	messageLine = regexp.MustCompile(`^(\s+)(\S+\.go:\d+: .*)$`)
	// "FAIL	example.com/p	0.01s", "ok  	example.com/p	0.01s", "FAIL	example.com/p [build failed]"
	packageLine = regexp.MustCompile(`^(ok|FAIL|\?)\s+(\S+)(\s|$)`)
	// "testing.go:1712: race detected during execution of test"
	raceDetected = regexp.MustCompile(`^\S+\.go:\d+: race detected during execution of test$`)
)

// failure is a failed test, or a package whose test binary failed
// without naming a test.
type failure struct {
	name     string // "example.com/p.TestX/sub", or the package path
	messages []string
	// raceOnly is true when the race detector's verdict is the only
	// reason given.
	raceOnly bool
}

func (f failure) String() string {
	if len(f.messages) == 0 {
		return f.name + " failed"
	}
	return fmt.Sprintf("%s failed: %s", f.name, strings.Join(f.messages, "; "))
}

// testFailures reads go test output, with or without -v, and returns the
// failed tests, named with their package, and the packages that failed
// without a failed test (a panic, a timeout, a build failure). Without
// -v, a test's messages follow its "--- FAIL" line, indented one level
// deeper; with -v they follow its "=== RUN" (or NAME, CONT) line.
func testFailures(output string) []failure {
	lines := strings.Split(output, "\n")
	var all []failure
	messages := map[string][]string{}
	var failed []string
	current := "" // the test named by the last === line (-v)
	segmentStart := 0
	for i, line := range lines {
		if m := runLine.FindStringSubmatch(line); m != nil {
			current = m[1]
			continue
		}
		if m := failLine.FindStringSubmatch(line); m != nil {
			name := m[2]
			failed = append(failed, name)
			messages[name] = append(messages[name], messagesAfter(lines[i+1:], len(m[1]))...)
			current = ""
			continue
		}
		if m := messageLine.FindStringSubmatch(line); m != nil && current != "" {
			messages[current] = append(messages[current], m[2])
			continue
		}
		m := packageLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		pkg := m[2]
		var pending []failure
		for _, name := range failed {
			f, ok := judge(name, messages[name], failed)
			if ok {
				f.name = pkg + "." + name
				pending = append(pending, f)
			}
		}
		all = append(all, pending...)
		segment := lines[segmentStart:i]
		if m[1] == "FAIL" && !explained(pending, segment) {
			all = append(all, failure{name: pkg, messages: firstProblem(segment, line)})
		}
		segmentStart = i + 1
		messages = map[string][]string{}
		failed = nil
		current = ""
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].name < all[j].name })
	return all
}

// messagesAfter returns the messages directly below a "--- FAIL" line
// indented by depth: those indented one level deeper.
func messagesAfter(lines []string, depth int) []string {
	var out []string
	for _, line := range lines {
		if strings.TrimSpace(line) == "" {
			continue
		}
		d := len(line) - len(strings.TrimLeft(line, " \t"))
		if d <= depth {
			break
		}
		if m := messageLine.FindStringSubmatch(line); m != nil && d == depth+4 {
			out = append(out, m[2])
		}
	}
	return out
}

// judge decides what a failed test's messages say. A test with no
// message of its own that has a failed subtest failed because of it, and
// is not reported (ok is false).
func judge(name string, messages, failed []string) (f failure, ok bool) {
	if len(messages) == 0 {
		for _, other := range failed {
			if strings.HasPrefix(other, name+"/") {
				return failure{}, false
			}
		}
		return failure{name: name}, true
	}
	f = failure{name: name, messages: messages, raceOnly: true}
	for _, msg := range messages {
		if !raceDetected.MatchString(msg) {
			f.raceOnly = false
		}
	}
	return f, true
}

// explained reports whether a failed package's output is accounted for
// by the failed tests in pending, or by the race detector alone.
func explained(pending []failure, segment []string) bool {
	for _, f := range pending {
		if !f.raceOnly {
			return true // reported as it is
		}
	}
	for _, line := range segment {
		if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") ||
			strings.Contains(line, "test timed out") {
			return false
		}
	}
	if len(pending) > 0 {
		return true
	}
	for _, line := range segment {
		if strings.Contains(line, "WARNING: DATA RACE") || strings.Contains(line, "race detected") {
			return true
		}
	}
	return false
}

// firstProblem picks the lines that say why a package failed.
func firstProblem(segment []string, summary string) []string {
	for _, line := range segment {
		if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") ||
			strings.Contains(line, "test timed out") {
			return []string{line}
		}
	}
	return []string{strings.TrimSpace(summary)}
}

// RaceDiff compares the map races seen before and after a fix. A race is
// identified by the functions of its accesses, which a rewrite does not
// change (line numbers it does).
type RaceDiff struct {
	// Compared is true when a race log from before the fix was given.
	Compared bool
	// Fixed, Remaining and New list races by the functions of their
	// accesses: seen before only, before and after, after only.
	Fixed, Remaining, New []string
}

func (d RaceDiff) String() string {
	after := len(d.Remaining) + len(d.New)
	if !d.Compared {
		s := fmt.Sprintf("map races after the fix: %d", after)
		if after > 0 {
			s += " (" + strings.Join(d.New, "; ") + ")"
		}
		return s
	}
	s := fmt.Sprintf("map races: %d before, %d after", len(d.Fixed)+len(d.Remaining), after)
	if len(d.Remaining) > 0 {
		s += "; remaining: " + strings.Join(d.Remaining, "; ")
	}
	if len(d.New) > 0 {
		s += "; new: " + strings.Join(d.New, "; ")
	}
	return s
}

func compareRaces(before, after []*racelog.Report, compared bool) RaceDiff {
	d := RaceDiff{Compared: compared}
	b, a := raceKeys(before), raceKeys(after)
	for k := range b {
		if a[k] {
			d.Remaining = append(d.Remaining, k)
		} else {
			d.Fixed = append(d.Fixed, k)
		}
	}
	for k := range a {
		if !b[k] {
			d.New = append(d.New, k)
		}
	}
	sort.Strings(d.Fixed)
	sort.Strings(d.Remaining)
	sort.Strings(d.New)
	return d
}

// onlyIn keeps the reports that the checked packages can reproduce: those
// with an access in one of them or in its tests. Reports from package
// main, whose import path the stacks do not show, are kept.
func onlyIn(reports []*racelog.Report, pkgs []string) []*racelog.Report {
	checked := map[string]bool{"main": true}
	for _, p := range pkgs {
		checked[p] = true
		checked[p+"_test"] = true
	}
	var out []*racelog.Report
	for _, r := range reports {
		for _, a := range r.Accesses {
			if f, ok := a.Site(); ok && checked[f.Package()] {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// raceKeys identifies each report by the user functions of its accesses.
func raceKeys(reports []*racelog.Report) map[string]bool {
	keys := map[string]bool{}
	for _, r := range reports {
		var sites []string
		for _, a := range r.Accesses {
			if f, ok := a.Site(); ok {
				sites = append(sites, f.Func)
			} else {
				sites = append(sites, "?")
			}
		}
		sort.Strings(sites)
		keys[r.Message+": "+strings.Join(sites, " vs ")] = true
	}
	return keys
}
