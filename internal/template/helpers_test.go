package template_test

import (
	"errors"

	"github.com/carepost/carepost/internal/template"
)

func asLint(err error, le **template.LintError) bool { return errors.As(err, le) }
