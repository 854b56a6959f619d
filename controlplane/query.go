package controlplane

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
)

// The cluster query language of memberOf placement constraints and of
// ListContainerInstances filters, for the subjects that mean something on
// external instances:
//
//	attribute:ecs.os-type == linux and attribute:stack in [prod, staging]
//	attribute:gpu exists or not (task:group == service:batch)
//
// Subjects: attribute:NAME, ec2InstanceId, agentConnected, agentVersion,
// runningTasksCount, task:group. Operators: == != > >= < <= =~ !~ in
// "not in" exists !exists; values may hold * wildcards (== != in) and may be
// quoted. "and" binds tighter than "or"; "not" and parentheses group.

// instanceView is what a query can ask of a container instance.
type instanceView struct {
	attrs          map[string]string
	ec2InstanceID  string
	agentVersion   string
	agentConnected bool
	runningTasks   int
	groups         map[string]bool
}

type query interface {
	match(v *instanceView) bool
}

type (
	orQuery   []query
	andQuery  []query
	notQuery  struct{ q query }
	condition struct {
		subject string
		op      string
		values  []string
	}
)

func (q orQuery) match(v *instanceView) bool {
	for _, s := range q {
		if s.match(v) {
			return true
		}
	}
	return false
}

func (q andQuery) match(v *instanceView) bool {
	for _, s := range q {
		if !s.match(v) {
			return false
		}
	}
	return true
}

func (q notQuery) match(v *instanceView) bool { return !q.q.match(v) }

func (c condition) match(v *instanceView) bool {
	var have []string // the subject's values; none means absent
	switch {
	case strings.HasPrefix(c.subject, "attribute:"):
		if val, ok := v.attrs[strings.TrimPrefix(c.subject, "attribute:")]; ok {
			have = []string{val}
		}
	case c.subject == "ec2InstanceId":
		if v.ec2InstanceID != "" {
			have = []string{v.ec2InstanceID}
		}
	case c.subject == "agentVersion":
		if v.agentVersion != "" {
			have = []string{v.agentVersion}
		}
	case c.subject == "agentConnected":
		have = []string{strconv.FormatBool(v.agentConnected)}
	case c.subject == "runningTasksCount":
		have = []string{strconv.Itoa(v.runningTasks)}
	case c.subject == "task:group":
		for g := range v.groups {
			have = append(have, g)
		}
	}
	switch c.op {
	case "exists":
		return len(have) > 0
	case "!exists":
		return len(have) == 0
	case "!=", "not in", "!~":
		return !condition{c.subject, map[string]string{"!=": "==", "not in": "in", "!~": "=~"}[c.op], c.values}.match(v)
	}
	for _, h := range have {
		for _, want := range c.values {
			if compare(h, c.op, want) {
				return true
			}
		}
	}
	return false
}

func compare(have, op, want string) bool {
	switch op {
	case "==", "in":
		if strings.Contains(want, "*") {
			ok, _ := path.Match(want, have)
			return ok
		}
		return have == want
	case "=~":
		ok, _ := path.Match(want, have)
		return ok || strings.Contains(have, want)
	}
	hf, herr := strconv.ParseFloat(have, 64)
	wf, werr := strconv.ParseFloat(want, 64)
	cmp := strings.Compare(have, want)
	if herr == nil && werr == nil {
		switch {
		case hf < wf:
			cmp = -1
		case hf > wf:
			cmp = 1
		default:
			cmp = 0
		}
	}
	switch op {
	case ">":
		return cmp > 0
	case ">=":
		return cmp >= 0
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	}
	return false
}

// parseQuery parses a cluster query expression.
func parseQuery(s string) (query, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	q, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos])
	}
	return q, nil
}

type parser struct {
	toks []string
	pos  int
}

func (p *parser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *parser) next() string { t := p.peek(); p.pos++; return t }

func (p *parser) or() (query, error) {
	var q orQuery
	for {
		a, err := p.and()
		if err != nil {
			return nil, err
		}
		q = append(q, a)
		if t := strings.ToLower(p.peek()); t != "or" && t != "||" {
			break
		}
		p.next()
	}
	if len(q) == 1 {
		return q[0], nil
	}
	return q, nil
}

func (p *parser) and() (query, error) {
	var q andQuery
	for {
		a, err := p.unary()
		if err != nil {
			return nil, err
		}
		q = append(q, a)
		if t := strings.ToLower(p.peek()); t != "and" && t != "&&" {
			break
		}
		p.next()
	}
	if len(q) == 1 {
		return q[0], nil
	}
	return q, nil
}

func (p *parser) unary() (query, error) {
	switch t := p.peek(); {
	case strings.EqualFold(t, "not"):
		p.next()
		q, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notQuery{q}, nil
	case t == "(":
		p.next()
		q, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next() != ")" {
			return nil, errors.New("missing )")
		}
		return q, nil
	}
	return p.condition()
}

var subjects = []string{"ec2InstanceId", "agentConnected", "agentVersion", "runningTasksCount", "task:group"}

func (p *parser) condition() (query, error) {
	subject := p.next()
	known := strings.HasPrefix(subject, "attribute:") && len(subject) > len("attribute:")
	for _, s := range subjects {
		known = known || subject == s
	}
	if !known {
		if subject == "" {
			return nil, errors.New("expression ends early")
		}
		return nil, fmt.Errorf("unsupported subject %q", subject)
	}
	op := strings.ToLower(p.next())
	switch op {
	case "exists", "!exists":
		return condition{subject: subject, op: op}, nil
	case "not":
		if strings.ToLower(p.next()) != "in" {
			return nil, errors.New(`"not" must be followed by "in"`)
		}
		op = "not in"
		fallthrough
	case "in":
		values, err := p.list()
		if err != nil {
			return nil, err
		}
		return condition{subject: subject, op: op, values: values}, nil
	case "==", "!=", ">", ">=", "<", "<=", "=~", "!~":
		v := p.next()
		if v == "" || strings.ContainsAny(v, "()[],") && !quoted(v) {
			return nil, fmt.Errorf("missing value after %s", op)
		}
		return condition{subject: subject, op: op, values: []string{unquote(v)}}, nil
	}
	return nil, fmt.Errorf("unsupported operator %q", op)
}

func (p *parser) list() ([]string, error) {
	open := p.next()
	closer := map[string]string{"[": "]", "(": ")"}[open]
	if closer == "" {
		return nil, errors.New(`"in" needs a list such as [a, b]`)
	}
	var values []string
	for {
		v := p.next()
		if v == "" || v == "," || v == closer {
			return nil, errors.New("bad list")
		}
		values = append(values, unquote(v))
		switch p.next() {
		case ",":
		case closer:
			return values, nil
		default:
			return nil, errors.New("bad list")
		}
	}
}

func quoted(t string) bool {
	return len(t) >= 2 && (t[0] == '\'' || t[0] == '"') && t[len(t)-1] == t[0]
}

func unquote(t string) string {
	if quoted(t) {
		return t[1 : len(t)-1]
	}
	return t
}

func tokenize(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case strings.IndexByte("()[],", c) >= 0:
			toks = append(toks, string(c))
			i++
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, errors.New("unterminated quote")
			}
			toks = append(toks, s[i:i+j+2])
			i += j + 2
		case strings.HasPrefix(s[i:], "!exists"):
			toks = append(toks, "!exists")
			i += len("!exists")
		case strings.IndexByte("=!<>~&|", c) >= 0:
			j := i
			for j < len(s) && strings.IndexByte("=!<>~&|", s[j]) >= 0 {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t\n()[],'\"=!<>~&|", s[j]) < 0 {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	if len(toks) == 0 {
		return nil, errors.New("empty expression")
	}
	return toks, nil
}
