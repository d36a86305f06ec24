package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/safemapfix/safemapfix"
	"github.com/safemapfix/safemapfix/detect"
	"github.com/safemapfix/safemapfix/emit"
	"github.com/safemapfix/safemapfix/load"
	"github.com/safemapfix/safemapfix/racelog"
	"github.com/safemapfix/safemapfix/report"
	"github.com/safemapfix/safemapfix/verify"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "devel"

//go:embed doc.go
var docSource string

func main() {
	tuneGC()
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "safemapfix:", err)
		os.Exit(2)
	}
	os.Exit(run(context.Background(), wd, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Exit statuses; see doc.go.
const (
	exitClean    = 0
	exitFindings = 1
	exitError    = 2
)

// options are the command's flags.
type options struct {
	dryRun, write, list, json bool
	format                    string
	color                     string
	cpuProfile, memProfile    string
	only, exclude, tags       []string
	platforms                 []string
	minConfidence             string
	wrapperImport             string
	keepAPI                   bool
	generated                 bool
	raceLogs                  []string
	noStatic                  bool
	verify                    string
}

// run is the whole command: it parses args, runs safemapfix in dir and
// returns the exit status. It reads stdin only for --race-log - and writes
// only to stdout and stderr.
func run(ctx context.Context, dir string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var opts options
	status := exitClean
	cmd := &cobra.Command{
		Use:           "safemapfix [flags] [packages | files]",
		Short:         "Find maps used concurrently without synchronisation and rewrite them into safe maps",
		Long:          longHelp(),
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, patterns []string) (err error) {
			stop, err := startProfiles(opts.cpuProfile, opts.memProfile)
			if err != nil {
				return err
			}
			defer func() {
				if perr := stop(); err == nil && perr != nil {
					status, err = exitError, perr
				}
			}()
			status, err = execute(ctx, dir, patterns, opts, stdin, stdout, stderr)
			return err
		},
	}
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	f := cmd.Flags()
	f.BoolVarP(&opts.dryRun, "dry-run", "d", false, "print a unified diff of the rewrite (the default mode)")
	f.BoolVarP(&opts.write, "write", "w", false, "rewrite the files in place")
	f.BoolVarP(&opts.list, "list", "l", false, "print findings with their evidence; change nothing")
	f.BoolVar(&opts.json, "json", false, "print findings and diffs as JSON (short for --format=json)")
	f.StringVar(&opts.format, "format", "text", "output format: text (diff or findings), json (findings and diffs, one document) or sarif (SARIF 2.1.0, for code-scanning services)")
	f.StringVar(&opts.color, "color", "auto", "colour the diff: auto (when stdout is a terminal and NO_COLOR is not set), always or never")
	f.StringVar(&opts.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof reads it)")
	f.StringVar(&opts.memProfile, "memprofile", "", "write a heap profile to this file at the end of the run")
	f.StringSliceVar(&opts.only, "only", nil, "rewrite these map objects whatever the analysis says (pkgpath.Var, pkgpath.Type.field, pkgpath.Func.local)")
	f.StringSliceVar(&opts.exclude, "exclude", nil, "never rewrite these map objects")
	f.StringSliceVar(&opts.tags, "tags", nil, "build tags to load the code with")
	f.StringSliceVar(&opts.platforms, "platform", nil, "GOOS/GOARCH to load and rewrite consistently (repeatable; default: the go command's)")
	f.StringVar(&opts.minConfidence, "min-confidence", "proven", "weakest finding to fix: proven (a concrete racing pair) or assumed (also races resting on how a library type is used)")
	f.StringVar(&opts.wrapperImport, "wrapper-import", "", "import path of an existing safe map package to use instead of placing a copy in the module")
	f.BoolVar(&opts.keepAPI, "keep-api", false, "leave alone maps that are part of a package's API (exported variables and fields), reporting them instead")
	f.BoolVar(&opts.generated, "generated", false, "also rewrite uses in generated files (// Code generated ... DO NOT EDIT.), which are otherwise left alone with the map")
	f.StringArrayVar(&opts.raceLogs, "race-log", nil, "fix the maps named in this output of go test -race or a crash dump (fatal error: concurrent map ...); - reads stdin; repeatable")
	f.BoolVar(&opts.noStatic, "no-static", false, "turn static detection off: fix only what --race-log and --only name")
	f.StringVar(&opts.verify, "verify", "none", "after --write, check the module: build (go build and go vet) or race (also go test -race -shuffle=on -cpu=1,2,4); on failure restore every written file")
	f.Lookup("verify").NoOptDefVal = "build"
	cmd.MarkFlagsMutuallyExclusive("dry-run", "write", "list")
	cmd.MarkFlagsMutuallyExclusive("json", "format")
	if err := cmd.Execute(); err != nil {
		fmt.Fprintf(stderr, "safemapfix: %v\n", err)
		return exitError
	}
	return status
}

// longHelp is the command documentation of doc.go, without comment markers.
func longHelp() string {
	s := docSource
	if i := strings.Index(s, "/*"); i >= 0 {
		s = s[i+2:]
	}
	if i := strings.LastIndex(s, "*/"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// execute runs safemapfix and prints the result for the chosen mode.
// beforeWrite, when set, runs between the analysis and the write; tests
// use it to change files on disk in that window.
var beforeWrite func()

func execute(ctx context.Context, dir string, patterns []string, opts options, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	level, err := verify.ParseLevel(opts.verify)
	if err != nil {
		return exitError, fmt.Errorf("--verify: %w", err)
	}
	if level != verify.None && !opts.write {
		return exitError, fmt.Errorf("--verify checks what --write wrote; add --write")
	}
	if opts.json {
		opts.format = "json"
	}
	if opts.format != "text" && opts.format != "json" && opts.format != "sarif" {
		return exitError, fmt.Errorf("--format must be text, json or sarif, not %q", opts.format)
	}
	color, err := useColor(opts.color, stdout)
	if err != nil {
		return exitError, err
	}
	if opts.noStatic && len(opts.raceLogs) == 0 && len(opts.only) == 0 {
		return exitError, fmt.Errorf("--no-static leaves nothing to fix; name maps with --race-log or --only")
	}
	cfg := safemapfix.Config{
		Dir:           dir,
		Patterns:      patterns,
		Tags:          opts.tags,
		Platforms:     opts.platforms,
		Only:          opts.only,
		Exclude:       opts.exclude,
		WrapperImport: opts.wrapperImport,
		Version:       version,
		KeepAPI:       opts.keepAPI,
		NoStatic:      opts.noStatic,
		Generated:     opts.generated,
		FindingsOnly:  opts.list && opts.format == "text" && !opts.write,
	}
	var rawLog []byte
	if len(opts.raceLogs) > 0 {
		log, raw, err := racelog.ReadFiles(stdin, opts.raceLogs)
		if err != nil {
			return exitError, err
		}
		rawLog = raw
		cfg.Extra = func(prog *load.Program) ([]detect.Finding, error) {
			found, unhandled := racelog.Locate(prog.Fset, prog.Packages, log)
			for _, u := range unhandled {
				fmt.Fprintf(stderr, "safemapfix: race report not handled: %s\n", u)
			}
			return found, nil
		}
	}
	switch opts.minConfidence {
	case "proven":
		cfg.MinConfidence = detect.Proven
	case "assumed":
		cfg.MinConfidence = detect.Assumed
	default:
		return exitError, fmt.Errorf("--min-confidence must be proven or assumed, not %q", opts.minConfidence)
	}
	phase, stopProgress := startProgress(stderr)
	cfg.Progress = phase
	res, err := safemapfix.Run(ctx, cfg)
	stopProgress()
	if err != nil {
		return exitError, err
	}
	if opts.format == "text" {
		// Machine-readable output goes to stdout alone; warnings would
		// only be noise in a CI log then.
		mentions, err := excludedMentions(res, opts.tags, opts.platforms)
		if err != nil {
			return exitError, err
		}
		warnExcluded(stderr, dir, mentions)
	}
	changes := make([]emit.Change, len(res.Files))
	for i, f := range res.Files {
		changes[i] = emit.Change{Path: f.Path, Old: f.Old, New: f.New}
	}
	// The JSON and SARIF documents say what was fixed: with --write, they
	// are printed once the files are written (and verified).
	document := func() error {
		switch opts.format {
		case "json":
			return report.JSON(stdout, dir, res)
		case "sarif":
			return report.SARIF(stdout, dir, version, res)
		}
		return nil
	}
	switch {
	case opts.write:
		if opts.format == "text" {
			if err := report.Text(stderr, dir, res.Findings); err != nil {
				return exitError, err
			}
		}
		if beforeWrite != nil {
			beforeWrite()
		}
		written, err := emit.Write(res.ModuleDir, changes)
		if err != nil {
			return exitError, err
		}
		summary(stderr, dir, res, true)
		if len(changes) > 0 && level != verify.None {
			vcfg := verify.Config{Dir: res.ModuleDir, Level: level, BeforeLog: rawLog, Progress: stderr}
			if len(opts.tags) > 0 {
				vcfg.BuildFlags = []string{"-tags=" + strings.Join(opts.tags, ",")}
			}
			rep, err := verify.CheckAndRestore(ctx, vcfg, written)
			if rep != nil && rep.Level != verify.None {
				fmt.Fprint(stderr, rep.Summary())
			}
			if err != nil {
				return exitError, err
			}
		}
		if err := document(); err != nil {
			return exitError, err
		}
		if res.Unfixed() > 0 {
			return exitFindings, nil
		}
		return exitClean, nil
	case opts.format != "text":
		if err := document(); err != nil {
			return exitError, err
		}
	case opts.list:
		if err := report.Text(stdout, dir, res.Findings); err != nil {
			return exitError, err
		}
	default:
		var diff bytes.Buffer
		if err := emit.Diff(&diff, dir, changes); err != nil {
			return exitError, err
		}
		out := diff.Bytes()
		if color {
			out = emit.Colorize(out)
		}
		if _, err := stdout.Write(out); err != nil {
			return exitError, err
		}
		if err := report.Text(stderr, dir, res.Findings); err != nil {
			return exitError, err
		}
	}
	summary(stderr, dir, res, false)
	if len(res.Findings) > 0 || len(changes) > 0 {
		return exitFindings, nil
	}
	return exitClean, nil
}

// summary prints one line on stderr: maps fixed, files changed, refusals.
func summary(w io.Writer, dir string, res *safemapfix.Result, written bool) {
	if len(res.Findings) == 0 {
		return
	}
	fixed, refused, below, tests := 0, 0, 0, 0
	for _, f := range res.Findings {
		switch {
		case f.Fixed:
			fixed++
		case f.Below:
			below++
		default:
			refused++
			if f.LeftToTests {
				tests++
			}
		}
	}
	verb := "would change"
	if written {
		verb = "changed"
	}
	msg := fmt.Sprintf("safemapfix: %d racy map(s): %d fixed, %d not fixed", len(res.Findings), fixed, refused)
	if tests > 0 {
		msg += fmt.Sprintf(" (%d racing only in tests)", tests)
	}
	if below > 0 {
		msg += fmt.Sprintf(", %d below --min-confidence", below)
	}
	user, placed, unnamed := 0, 0, 0
	for _, f := range res.Files {
		switch {
		case res.WrapperDir != "" && strings.HasPrefix(f.Path, res.WrapperDir+string(filepath.Separator)):
			placed++
		case len(res.Named) > 0 && !slices.Contains(res.Named, f.Path):
			unnamed++
			user++
		default:
			user++
		}
	}
	msg += fmt.Sprintf("; %s %d file(s)", verb, user)
	if unnamed > 0 {
		msg += fmt.Sprintf(" (%d not named on the command line, for uses the fix reaches)", unnamed)
	}
	if placed > 0 {
		msg += fmt.Sprintf(", placing the safe map package in %s", relPath(dir, res.WrapperDir))
	}
	fmt.Fprintln(w, msg)
}

// relPath is path relative to dir when it is below dir.
func relPath(dir, path string) string {
	if r, err := filepath.Rel(dir, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}
