package message

import "bytes"

// splitMultipart cuts a multipart body into its body parts (RFC 2046
// section 5.1.1) without copying: the preamble before the first delimiter
// line and the epilogue after the close delimiter are dropped, and the line
// break before each delimiter belongs to the delimiter. A delimiter line is
// "--" boundary, optionally "--" for the close delimiter, then only
// whitespace to the end of the line. closed reports whether the close
// delimiter was seen (without it the last part runs to the end); parts is
// nil when there is no delimiter line at all. More than maxParts parts is
// ErrTooManyParts.
func splitMultipart(body []byte, boundary string, maxParts int) (parts [][]byte, closed bool, err error) {
	delim := []byte("--" + boundary)
	start := -1 // where the current part's content starts
	for pos := 0; pos < len(body); {
		i := bytes.Index(body[pos:], delim)
		if i < 0 {
			break
		}
		i += pos
		pos = i + len(delim)
		if i > 0 && body[i-1] != '\n' {
			continue // not at the start of a line
		}
		end := pos
		closing := bytes.HasPrefix(body[end:], []byte("--"))
		if closing {
			end += 2
		}
		for end < len(body) && (body[end] == ' ' || body[end] == '\t') {
			end++ // transport padding
		}
		if end < len(body) && body[end] != '\r' && body[end] != '\n' {
			continue // "--boundary" followed by more text is not a delimiter
		}
		if start >= 0 {
			if len(parts) == maxParts {
				return nil, false, ErrTooManyParts
			}
			parts = append(parts, trimLineBreak(body[start:i]))
		}
		if closing {
			return parts, true, nil
		}
		if end < len(body) && body[end] == '\r' {
			end++
		}
		if end < len(body) && body[end] == '\n' {
			end++
		}
		start, pos = end, end
	}
	if start >= 0 {
		if len(parts) == maxParts {
			return nil, false, ErrTooManyParts
		}
		parts = append(parts, body[start:])
	}
	return parts, false, nil
}

// trimLineBreak removes the CRLF (or lone LF) that ends b.
func trimLineBreak(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}
