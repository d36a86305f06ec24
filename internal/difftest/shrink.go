package difftest

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Shrink returns a smaller program that still fails as p does (the same
// kind of failure), with its outcome: first one case, then as few units
// and map objects of it as still fail. It costs one Check per attempt.
// logf, if not nil, reports progress.
func (ch *Checker) Shrink(ctx context.Context, p *Program, o *Outcome, logf func(string, ...any)) (*Program, *Outcome, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	kind := o.Kind
	try := func(q *Program) (*Outcome, bool, error) {
		qo, err := ch.Check(ctx, q)
		if errors.Is(err, errOriginal) {
			return nil, false, nil // the smaller program is no longer valid
		}
		if err != nil {
			return nil, false, err
		}
		return qo, qo.Kind == kind, nil
	}

	// One case.
	candidates := suspects(p, o)
	if len(candidates) == 0 {
		candidates = p.Cases
	}
	found := false
	for _, c := range candidates {
		q := &Program{Seed: p.Seed, Cases: []*Case{c}}
		qo, ok, err := try(q)
		if err != nil {
			return p, o, err
		}
		if ok {
			logf("difftest: %s alone fails (%s)", c.Name, kind)
			p, o, found = q, qo, true
			break
		}
	}
	if !found {
		logf("difftest: no single case fails alone (the difference may depend on other cases, or on map iteration order, a generator bug); keeping all %d", len(p.Cases))
		return p, o, nil
	}

	// Fewer units, from the last.
	c := p.Cases[0]
	for i := len(c.Units) - 1; i >= 0; i-- {
		smaller := c.clone()
		smaller.Units = append(smaller.Units[:i], smaller.Units[i+1:]...)
		q := &Program{Seed: p.Seed, Cases: []*Case{smaller}}
		qo, ok, err := try(q)
		if err != nil {
			return p, o, err
		}
		if ok {
			c, p, o = smaller, q, qo
		}
	}
	// Fewer map objects: drop one with its units.
	for i := len(c.Slots) - 1; i >= 0 && len(c.Slots) > 1; i-- {
		smaller := c.withoutSlot(i)
		q := &Program{Seed: p.Seed, Cases: []*Case{smaller}}
		qo, ok, err := try(q)
		if err != nil {
			return p, o, err
		}
		if ok {
			c, p, o = smaller, q, qo
		}
	}
	logf("difftest: shrunk to %s with %d units and %d maps", c.Name, len(c.Units), len(c.Slots))
	return p, o, nil
}

func (c *Case) clone() *Case {
	return &Case{Name: c.Name, Slots: append([]*Slot(nil), c.Slots...), Units: append([]Unit(nil), c.Units...)}
}

// withoutSlot returns the case without map object i and its units.
func (c *Case) withoutSlot(i int) *Case {
	out := &Case{Name: c.Name}
	out.Slots = append(append(out.Slots, c.Slots[:i]...), c.Slots[i+1:]...)
	for _, u := range c.Units {
		switch {
		case u.Slot == i:
		case u.Slot > i:
			out.Units = append(out.Units, Unit{Slot: u.Slot - 1, Code: u.Code})
		default:
			out.Units = append(out.Units, u)
		}
	}
	return out
}

// Report describes a failing (shrunk) program for a human: the failure,
// the case's source before and after the rewrite, and its output before
// and after.
func Report(p *Program, o *Outcome) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (seed %d)\n", o.Kind, p.Seed)
	if o.Kind != OutputDiffers {
		fmt.Fprintf(&b, "%s\n", o.Detail)
	}
	if len(p.Cases) == 1 {
		fmt.Fprintf(&b, "--only %s\n", strings.Join(p.Only(), ","))
	}
	cases := p.Cases
	if len(cases) > 1 {
		// Not shrunk to one case: show the ones the failure points at.
		cases = suspects(p, o)
	}
	for _, c := range cases {
		fmt.Fprintf(&b, "-- %s.go (input) --\n%s", c.Name, c.Source())
		if after, ok := o.Changed[c.Name+".go"]; ok {
			fmt.Fprintf(&b, "-- %s.go (rewritten) --\n%s", c.Name, after)
		}
	}
	if o.Kind == OutputDiffers {
		bs, as := sections(o.Before), sections(o.After)
		name := o.Detail
		fmt.Fprintf(&b, "-- output of %s before --\n%s-- output of %s after --\n%s", name, bs[name], name, as[name])
	}
	return b.String()
}
