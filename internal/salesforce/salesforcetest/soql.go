package salesforcetest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// This file holds the SOQL subset the simulator understands: a tokenizer
// and a recursive-descent parser producing a syntax tree. Names are checked
// against the schema afterwards, by compile in query.go.
//
//	query   = SELECT field {"," field} FROM object [WHERE or] [ORDER BY order {"," order}] [LIMIT n]
//	or      = and {OR and}
//	and     = unary {AND unary}
//	unary   = NOT unary | "(" or ")" | cond
//	cond    = field op literal | field [NOT] IN "(" literal {"," literal} ")" | field LIKE string
//	order   = field [ASC|DESC] [NULLS FIRST|LAST]

// queryError is a SOQL error as Salesforce reports it: an errorCode and a
// message that points at the offending position.
type queryError struct {
	code string
	msg  string
}

func (e *queryError) Error() string { return e.code + ": " + e.msg }

// malformed returns a MALFORMED_QUERY error pointing at byte offset pos of
// soql, in the shape Salesforce uses ("ERROR at Row:1:Column:12").
func malformed(soql string, pos int, format string, args ...any) *queryError {
	return &queryError{code: "MALFORMED_QUERY", msg: pointAt(soql, pos, fmt.Sprintf(format, args...))}
}

func pointAt(soql string, pos int, msg string) string {
	pos = min(max(pos, 0), len(soql))
	row := 1 + strings.Count(soql[:pos], "\n")
	col := pos - strings.LastIndex(soql[:pos], "\n")
	line := soql[pos-col+1:]
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	return fmt.Sprintf("\n%s\n%s^\nERROR at Row:%d:Column:%d\n%s", line, strings.Repeat(" ", col-1), row, col, msg)
}

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokIdent
	tokString
	tokNumber
	tokDate
	tokDateTime
	tokOp
	tokComma
	tokLParen
	tokRParen
)

type token struct {
	kind tokenKind
	text string // as written (identifiers, operators) or raw string content
	pos  int
	lit  literal // for literal tokens
}

// keyword reports whether the token is the identifier kw, ignoring case.
func (t token) keyword(kw string) bool { return t.kind == tokIdent && strings.EqualFold(t.text, kw) }

var reserved = map[string]bool{
	"SELECT": true, "FROM": true, "WHERE": true, "AND": true, "OR": true, "NOT": true,
	"ORDER": true, "BY": true, "LIMIT": true, "ASC": true, "DESC": true, "NULLS": true,
	"LIKE": true, "IN": true, "TRUE": true, "FALSE": true, "NULL": true,
}

type litKind int

const (
	litNull litKind = iota
	litString
	litNumber
	litBool
	litDate
	litDateTime
)

func (k litKind) String() string {
	return [...]string{"null", "string", "number", "boolean", "date", "dateTime"}[k]
}

// literal is a value written in a query.
type literal struct {
	kind litKind
	s    string    // decoded string
	raw  string    // string as written, escapes intact, for LIKE patterns
	n    float64   // number
	b    bool      // boolean
	t    time.Time // date or datetime, UTC
	pos  int
}

// tokenize splits soql into tokens.
func tokenize(soql string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(soql) {
		c := soql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == ',':
			toks = append(toks, token{kind: tokComma, text: ",", pos: i})
			i++
		case c == '(':
			toks = append(toks, token{kind: tokLParen, text: "(", pos: i})
			i++
		case c == ')':
			toks = append(toks, token{kind: tokRParen, text: ")", pos: i})
			i++
		case c == '=' || c == '<' || c == '>' || c == '!':
			op := string(c)
			if i+1 < len(soql) && (soql[i+1] == '=' || (c == '<' && soql[i+1] == '>')) {
				op += string(soql[i+1])
			}
			if op == "!" {
				return nil, malformed(soql, i, "unexpected token: '!'")
			}
			width := len(op)
			if op == "<>" {
				op = "!="
			}
			toks = append(toks, token{kind: tokOp, text: op, pos: i})
			i += width
		case c == '\'':
			tok, n, err := scanString(soql, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, tok)
			i = n
		case isDigit(c) || (c == '-' || c == '+') && i+1 < len(soql) && isDigit(soql[i+1]):
			j := i + 1
			for j < len(soql) && (isAlnum(soql[j]) || strings.IndexByte(".:+-", soql[j]) >= 0) {
				j++
			}
			tok, err := classifyLiteral(soql, i, soql[i:j])
			if err != nil {
				return nil, err
			}
			toks = append(toks, tok)
			i = j
		case c == '_' || unicode.IsLetter(rune(c)):
			j := i + 1
			for j < len(soql) && (isAlnum(soql[j]) || soql[j] == '_' || soql[j] == '.') {
				j++
			}
			toks = append(toks, token{kind: tokIdent, text: soql[i:j], pos: i})
			i = j
		default:
			return nil, malformed(soql, i, "unexpected token: '%c'", c)
		}
	}
	return append(toks, token{kind: tokEOF, pos: len(soql)}), nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// scanString reads the quoted string starting at soql[start] and returns
// the token and the offset after the closing quote.
func scanString(soql string, start int) (token, int, error) {
	var b strings.Builder
	for i := start + 1; i < len(soql); i++ {
		switch c := soql[i]; c {
		case '\'':
			raw := soql[start+1 : i]
			return token{kind: tokString, text: raw, pos: start,
				lit: literal{kind: litString, s: b.String(), raw: raw, pos: start}}, i + 1, nil
		case '\\':
			if i+1 == len(soql) {
				return token{}, 0, malformed(soql, i, "unterminated escape sequence")
			}
			i++
			switch e := soql[i]; e {
			case '\'', '"', '\\':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case '%', '_': // only meaningful in LIKE; kept literally elsewhere
				b.WriteByte('\\')
				b.WriteByte(e)
			default:
				return token{}, 0, malformed(soql, i-1, "Invalid string literal '%s'. Illegal character sequence '\\%c' in string literal.", soql[start:min(len(soql), i+1)], e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return token{}, 0, malformed(soql, start, "unterminated string literal")
}

var dateTimeLayouts = []string{
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999Z0700",
}

func classifyLiteral(soql string, pos int, s string) (token, error) {
	tok := token{text: s, pos: pos}
	if len(s) == 10 && s[4] == '-' && s[7] == '-' {
		if t, err := time.Parse(time.DateOnly, s); err == nil {
			tok.kind, tok.lit = tokDate, literal{kind: litDate, t: t, pos: pos}
			return tok, nil
		}
	}
	if strings.ContainsRune(s, 'T') {
		for _, layout := range dateTimeLayouts {
			if t, err := time.Parse(layout, s); err == nil {
				tok.kind, tok.lit = tokDateTime, literal{kind: litDateTime, t: t.UTC(), pos: pos}
				return tok, nil
			}
		}
		return token{}, malformed(soql, pos, "line 1:%d no viable alternative at character '%s': invalid date/time literal %s", pos, s, s)
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return token{}, malformed(soql, pos, "unexpected token: '%s'", s)
	}
	tok.kind, tok.lit = tokNumber, literal{kind: litNumber, n: n, pos: pos}
	return tok, nil
}

// Syntax tree.

type selectStmt struct {
	fields  []nameRef
	object  nameRef
	where   expr // nil when absent
	orderBy []orderItem
	limit   int // -1 when absent
}

// nameRef is a field or object name as written, with its position.
type nameRef struct {
	name string
	pos  int
}

type orderItem struct {
	field      nameRef
	desc       bool
	nullsFirst bool
}

type expr interface{ isExpr() }

type (
	andExpr  struct{ l, r expr }
	orExpr   struct{ l, r expr }
	notExpr  struct{ e expr }
	condExpr struct {
		field nameRef
		op    string // = != < <= > >= LIKE IN NOTIN
		lits  []literal
	}
)

func (andExpr) isExpr()  {}
func (orExpr) isExpr()   {}
func (notExpr) isExpr()  {}
func (condExpr) isExpr() {}

type parser struct {
	soql string
	toks []token
	i    int
}

// parse parses soql into a selectStmt.
func parse(soql string) (*selectStmt, error) {
	toks, err := tokenize(soql)
	if err != nil {
		return nil, err
	}
	p := &parser{soql: soql, toks: toks}
	return p.query()
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) unexpected(t token) error {
	if t.kind == tokEOF {
		return malformed(p.soql, t.pos, "unexpected token: <EOF>")
	}
	text := t.text
	if t.kind == tokString {
		text = "'" + text + "'"
	}
	return malformed(p.soql, t.pos, "unexpected token: '%s'", text)
}

func (p *parser) expectKeyword(kw string) error {
	if t := p.next(); !t.keyword(kw) {
		return p.unexpected(t)
	}
	return nil
}

func (p *parser) name() (nameRef, error) {
	t := p.next()
	if t.kind != tokIdent || reserved[strings.ToUpper(t.text)] {
		return nameRef{}, p.unexpected(t)
	}
	if strings.HasPrefix(t.text, ".") || strings.HasSuffix(t.text, ".") || strings.Contains(t.text, "..") {
		return nameRef{}, malformed(p.soql, t.pos, "unexpected token: '%s'", t.text)
	}
	return nameRef{name: t.text, pos: t.pos}, nil
}

func (p *parser) query() (*selectStmt, error) {
	q := &selectStmt{limit: -1}
	if err := p.expectKeyword("SELECT"); err != nil {
		return nil, err
	}
	for {
		f, err := p.name()
		if err != nil {
			return nil, err
		}
		q.fields = append(q.fields, f)
		if p.peek().kind != tokComma {
			break
		}
		p.next()
	}
	if err := p.expectKeyword("FROM"); err != nil {
		return nil, err
	}
	obj, err := p.name()
	if err != nil {
		return nil, err
	}
	q.object = obj
	if p.peek().keyword("WHERE") {
		p.next()
		if q.where, err = p.or(); err != nil {
			return nil, err
		}
	}
	if p.peek().keyword("ORDER") {
		p.next()
		if err := p.expectKeyword("BY"); err != nil {
			return nil, err
		}
		for {
			item, err := p.orderItem()
			if err != nil {
				return nil, err
			}
			q.orderBy = append(q.orderBy, item)
			if p.peek().kind != tokComma {
				break
			}
			p.next()
		}
	}
	if p.peek().keyword("LIMIT") {
		p.next()
		t := p.next()
		if t.kind != tokNumber || t.lit.n < 0 || t.lit.n != float64(int(t.lit.n)) {
			return nil, malformed(p.soql, t.pos, "LIMIT must be a non-negative integer, found '%s'", t.text)
		}
		q.limit = int(t.lit.n)
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.unexpected(t)
	}
	return q, nil
}

func (p *parser) orderItem() (orderItem, error) {
	f, err := p.name()
	if err != nil {
		return orderItem{}, err
	}
	item := orderItem{field: f, nullsFirst: true}
	switch t := p.peek(); {
	case t.keyword("ASC"):
		p.next()
	case t.keyword("DESC"):
		p.next()
		item.desc, item.nullsFirst = true, false
	}
	if p.peek().keyword("NULLS") {
		p.next()
		switch t := p.next(); {
		case t.keyword("FIRST"):
			item.nullsFirst = true
		case t.keyword("LAST"):
			item.nullsFirst = false
		default:
			return orderItem{}, p.unexpected(t)
		}
	}
	return item, nil
}

func (p *parser) or() (expr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peek().keyword("OR") {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = orExpr{l, r}
	}
	return l, nil
}

func (p *parser) and() (expr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.peek().keyword("AND") {
		p.next()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = andExpr{l, r}
	}
	return l, nil
}

func (p *parser) unary() (expr, error) {
	switch t := p.peek(); {
	case t.keyword("NOT"):
		p.next()
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notExpr{e}, nil
	case t.kind == tokLParen:
		p.next()
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if t := p.next(); t.kind != tokRParen {
			return nil, p.unexpected(t)
		}
		return e, nil
	}
	return p.cond()
}

func (p *parser) cond() (expr, error) {
	f, err := p.name()
	if err != nil {
		return nil, err
	}
	c := condExpr{field: f}
	switch t := p.next(); {
	case t.kind == tokOp:
		c.op = t.text
		lit, err := p.literal()
		if err != nil {
			return nil, err
		}
		c.lits = []literal{lit}
	case t.keyword("LIKE"):
		c.op = "LIKE"
		lt := p.next()
		if lt.kind != tokString {
			return nil, malformed(p.soql, lt.pos, "LIKE needs a quoted string, found '%s'", lt.text)
		}
		c.lits = []literal{lt.lit}
	case t.keyword("IN"), t.keyword("NOT"):
		c.op = "IN"
		if t.keyword("NOT") {
			if err := p.expectKeyword("IN"); err != nil {
				return nil, err
			}
			c.op = "NOTIN"
		}
		if t := p.next(); t.kind != tokLParen {
			return nil, p.unexpected(t)
		}
		for {
			lit, err := p.literal()
			if err != nil {
				return nil, err
			}
			c.lits = append(c.lits, lit)
			if p.peek().kind != tokComma {
				break
			}
			p.next()
		}
		if t := p.next(); t.kind != tokRParen {
			return nil, p.unexpected(t)
		}
	default:
		return nil, p.unexpected(t)
	}
	return c, nil
}

func (p *parser) literal() (literal, error) {
	t := p.next()
	switch {
	case t.kind == tokString, t.kind == tokNumber, t.kind == tokDate, t.kind == tokDateTime:
		return t.lit, nil
	case t.keyword("TRUE"), t.keyword("FALSE"):
		return literal{kind: litBool, b: t.keyword("TRUE"), pos: t.pos}, nil
	case t.keyword("NULL"):
		return literal{kind: litNull, pos: t.pos}, nil
	}
	return literal{}, p.unexpected(t)
}
