package event

import (
	"fmt"
	"strconv"
	"strings"
)

// JSONError says where a JSON text breaks the limits CheckJSON enforces.
type JSONError struct {
	// Path locates the offending value below the checked one: ".a.b[3]"
	// (keys as written, without unescaping), "" for the value itself.
	Path string
	// Reason says what is wrong, in words a client can act on.
	Reason string
	// Offset is the byte offset of the offending value.
	Offset int
	// Malformed is set when the text is not JSON at all (rather than JSON
	// beyond the limits); a decoder's own message may say more.
	Malformed bool
}

func (e *JSONError) Error() string { return strings.TrimPrefix(e.Path, ".") + ": " + e.Reason }

// PathSuffix is Path, to append to the name of the checked field
// ("properties" + ".a.b").
func (e *JSONError) PathSuffix() string { return e.Path }

// jsonFrame is one open object or array while scanning.
type jsonFrame struct {
	array    bool
	index    int // array: index of the current element
	keyStart int // object: the current key, without quotes
	keyEnd   int
}

// CheckJSON checks a JSON text against the limits every stored JSON value
// must hold, in one pass and without building anything:
//
//   - objects and arrays nest at most maxDepth levels (the outermost
//     object or array is level 1);
//   - a number literal has at most MaxNumberLen characters and is a finite
//     float64 (|x| ≤ 1.8e308: a literal such as 1e999999 is refused here,
//     before anything expands it; values too small for a float64 read as 0);
//   - the text is well-formed JSON.
//
// It is the guard that keeps hostile bodies cheap: the work it does is
// linear in the input and bounded by maxDepth in memory. nil means the text
// holds the limits.
func CheckJSON[T ~string | ~[]byte](b T, maxDepth int) *JSONError {
	var stackBuf [16]jsonFrame
	stack := stackBuf[:0]
	n := len(b)
	fail := func(pos int, reason string) *JSONError {
		var sb strings.Builder
		for _, f := range stack {
			if f.array {
				sb.WriteByte('[')
				sb.WriteString(strconv.Itoa(f.index))
				sb.WriteByte(']')
			} else if f.keyEnd > f.keyStart || f.keyStart > 0 {
				sb.WriteByte('.')
				key := string(b[f.keyStart:f.keyEnd])
				if len(key) > 64 {
					key = key[:64] + "…"
				}
				sb.WriteString(key)
			}
		}
		return &JSONError{Path: sb.String(), Reason: reason, Offset: pos}
	}
	malformed := func(pos int) *JSONError {
		err := fail(pos, fmt.Sprintf("malformed JSON at byte %d", pos))
		err.Malformed = true
		return err
	}
	ws := func(i int) int {
		for i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
			i++
		}
		return i
	}
	// str scans the string starting at b[i] == '"' and returns the index
	// after its closing quote, or -1.
	str := func(i int) int {
		for i++; i < n; i++ {
			switch c := b[i]; {
			case c == '"':
				return i + 1
			case c == '\\':
				if i+1 >= n {
					return -1
				}
				i++
				switch b[i] {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				case 'u':
					if i+4 >= n || !isHex(b[i+1]) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) {
						return -1
					}
					i += 4
				default:
					return -1
				}
			case c < 0x20:
				return -1
			}
		}
		return -1
	}
	// key reads `"key" :` in the object on top of the stack.
	key := func(i int) (int, *JSONError) {
		i = ws(i)
		if i >= n || b[i] != '"' {
			return 0, malformed(i)
		}
		end := str(i)
		if end < 0 {
			return 0, malformed(i)
		}
		top := &stack[len(stack)-1]
		top.keyStart, top.keyEnd = i+1, end-1
		i = ws(end)
		if i >= n || b[i] != ':' {
			return 0, malformed(i)
		}
		return i + 1, nil
	}

	i := 0
	for {
		// A value starts at i (after whitespace).
		i = ws(i)
		if i >= n {
			return malformed(i)
		}
		switch c := b[i]; {
		case c == '{' || c == '[':
			if len(stack) >= maxDepth {
				return fail(i, fmt.Sprintf("nests deeper than %d levels", maxDepth))
			}
			stack = append(stack, jsonFrame{array: c == '['})
			j := ws(i + 1)
			if j < n && (c == '{' && b[j] == '}' || c == '[' && b[j] == ']') {
				stack = stack[:len(stack)-1]
				i = j + 1
				break
			}
			if c == '{' {
				var err *JSONError
				if i, err = key(j); err != nil {
					return err
				}
			} else {
				i = j
			}
			continue
		case c == '"':
			if i = str(i); i < 0 {
				return malformed(n)
			}
		case c == '-' || c >= '0' && c <= '9':
			start := i
			var reason string
			if i, reason = number(b, i); reason != "" {
				err := fail(start, reason)
				err.Malformed = reason == malformedNumber
				return err
			}
		case c == 't' && hasPrefixAt(b, i, "true"):
			i += 4
		case c == 'f' && hasPrefixAt(b, i, "false"):
			i += 5
		case c == 'n' && hasPrefixAt(b, i, "null"):
			i += 4
		default:
			return malformed(i)
		}
		// After a value: close containers, or move to the next element.
		for {
			i = ws(i)
			if len(stack) == 0 {
				if i != n {
					return malformed(i)
				}
				return nil
			}
			if i >= n {
				return malformed(i)
			}
			top := &stack[len(stack)-1]
			switch {
			case b[i] == ',':
				if top.array {
					top.index++
					i++
				} else {
					var err *JSONError
					if i, err = key(i + 1); err != nil {
						return err
					}
				}
			case top.array && b[i] == ']', !top.array && b[i] == '}':
				stack = stack[:len(stack)-1]
				i++
				continue
			default:
				return malformed(i)
			}
			break
		}
	}
}

func hasPrefixAt[T ~string | ~[]byte](b T, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

const malformedNumber = "malformed number"

// number scans the JSON number at b[i] and returns the index after it, or a
// reason it is refused (malformed, too long, not a finite float64).
func number[T ~string | ~[]byte](b T, i int) (int, string) {
	start, n := i, len(b)
	digits := func() bool {
		s := i
		for i < n && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > s
	}
	if b[i] == '-' {
		i++
	}
	if i < n && b[i] == '0' {
		i++
	} else if !digits() {
		return i, malformedNumber
	}
	if i < n && b[i] == '.' {
		i++
		if !digits() {
			return i, malformedNumber
		}
	}
	exp := false
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		exp = true
		i++
		if i < n && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return i, malformedNumber
		}
	}
	if i-start > MaxNumberLen {
		return i, fmt.Sprintf("number is %d characters long; the limit is %d", i-start, MaxNumberLen)
	}
	// Without an exponent, at most MaxNumberLen digits are always finite.
	if exp {
		if _, err := strconv.ParseFloat(string(b[start:i]), 64); err != nil {
			return i, fmt.Sprintf("number %s is out of range (a finite 64-bit float is required)", string(b[start:i]))
		}
	}
	return i, ""
}
