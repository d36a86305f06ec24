package racelog

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// ReadFiles reads and parses the race logs named by names, as given to
// --race-log: file paths, or "-" for stdin (read once, however often it
// is named). It returns the reports of all of them, in order, each with
// its Source set, and the text read, concatenated, for callers that look
// at the test output around the reports (verify.Config.BeforeLog).
func ReadFiles(stdin io.Reader, names []string) (*Log, []byte, error) {
	log := &Log{}
	var raw bytes.Buffer
	stdinRead := false
	for _, name := range names {
		var data []byte
		var err error
		if name == "-" {
			if stdinRead {
				continue
			}
			stdinRead = true
			data, err = io.ReadAll(stdin)
		} else {
			data, err = os.ReadFile(name)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read race log %s: %w", name, err)
		}
		l, err := Parse(bytes.NewReader(data))
		if err != nil {
			return nil, nil, fmt.Errorf("read race log %s: %w", name, err)
		}
		for _, r := range l.Reports {
			r.Source = name
		}
		log.Reports = append(log.Reports, l.Reports...)
		raw.Write(data)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			raw.WriteByte('\n')
		}
	}
	return log, raw.Bytes(), nil
}
