package render

import "github.com/fatih/color"

// Colors applies terminal colours, or nothing when disabled.
type Colors struct {
	enabled bool
	add     *color.Color
	del     *color.Color
	chg     *color.Color
	bold    *color.Color
	dim     *color.Color
	errc    *color.Color
	warn    *color.Color
}

// NewColors returns colours; enabled=false gives plain text.
func NewColors(enabled bool) *Colors {
	mk := func(attrs ...color.Attribute) *color.Color {
		c := color.New(attrs...)
		if enabled {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
		return c
	}
	return &Colors{
		enabled: enabled,
		add:     mk(color.FgGreen),
		del:     mk(color.FgRed),
		chg:     mk(color.FgYellow),
		bold:    mk(color.Bold),
		dim:     mk(color.Faint),
		errc:    mk(color.FgRed, color.Bold),
		warn:    mk(color.FgYellow, color.Bold),
	}
}

func (c *Colors) Add(s string) string  { return c.add.Sprint(s) }
func (c *Colors) Del(s string) string  { return c.del.Sprint(s) }
func (c *Colors) Chg(s string) string  { return c.chg.Sprint(s) }
func (c *Colors) Bold(s string) string { return c.bold.Sprint(s) }
func (c *Colors) Dim(s string) string  { return c.dim.Sprint(s) }
func (c *Colors) Err(s string) string  { return c.errc.Sprint(s) }
func (c *Colors) Warn(s string) string { return c.warn.Sprint(s) }
func (c *Colors) Enabled() bool        { return c.enabled }
