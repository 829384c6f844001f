package console

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// A chart is drawn on the server as SVG. Its series differ by pattern as
// well as colour (readable without colour), each bar has a title with
// its numbers, and the page shows the same numbers as a table.

// series is one stacked part of a bar chart.
type series struct {
	Name    string
	Pattern string // the id of its fill pattern
}

// smsSeries group the states of messages for the hourly chart.
var smsSeries = []series{{"delivered", "p-solid"}, {"sent, no receipt yet", "p-diag"}, {"waiting", "p-dots"}, {"failed", "p-cross"}}

func smsSeriesOf(st store.TransmissionState) int {
	switch st {
	case store.TxDelivered:
		return 0
	case store.TxSent:
		return 1
	case store.TxQueued, store.TxSubmitting:
		return 2
	}
	return 3
}

// barChart is a stacked bar chart: one bar per label, one value per
// series in each.
type barChart struct {
	Series []series
	Labels []string
	Values [][]int // [bar][series]
}

// hourChart counts messages per hour from from on, n hours, by series.
func hourChart(hours []store.HourCount, from time.Time, n int) barChart {
	c := barChart{Series: smsSeries, Labels: make([]string, n), Values: make([][]int, n)}
	for i := range n {
		c.Labels[i] = from.Add(time.Duration(i) * time.Hour).Local().Format("15:04")
		c.Values[i] = make([]int, len(smsSeries))
	}
	for _, h := range hours {
		i := int(h.Start.Sub(from.Truncate(time.Hour)) / time.Hour)
		if i >= 0 && i < n {
			c.Values[i][smsSeriesOf(h.State)] += h.Count
		}
	}
	return c
}

// Total is the sum of every bar.
func (c barChart) Total() int {
	n := 0
	for _, v := range c.Values {
		for _, x := range v {
			n += x
		}
	}
	return n
}

// Rows are the chart's numbers for its table: a label then one value per
// series.
func (c barChart) Rows() [][]string {
	out := make([][]string, 0, len(c.Labels))
	for i, l := range c.Labels {
		row := []string{l}
		for _, v := range c.Values[i] {
			row = append(row, fmt.Sprint(v))
		}
		out = append(out, row)
	}
	return out
}

// patterns are the fills of the series: solid, diagonal lines, dots and
// crossed lines, each in its colour.
const patterns = `<defs>
<pattern id="p-solid" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#1e6b34"/></pattern>
<pattern id="p-diag" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#dbe8f8"/><rect width="2.5" height="6" fill="#0b5cad"/></pattern>
<pattern id="p-dots" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#eceff3"/><circle cx="3" cy="3" r="1.6" fill="#5b6470"/></pattern>
<pattern id="p-vert" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#fdf1d6"/><rect width="2" height="6" fill="#8a5a00"/></pattern>
<pattern id="p-blank" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#ffffff"/></pattern>
<pattern id="p-cross" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#f8dedc"/><path d="M0 0L6 6M6 0L0 6" stroke="#b3261e" stroke-width="1.4"/></pattern>
</defs>`

// SVG draws the chart. Only numbers and the series' and labels' fixed
// texts (escaped) go into it.
func (c barChart) SVG(title string) template.HTML {
	const w, h, left, bottom, top = 720, 220, 44, 28, 10
	peak := 0
	for _, v := range c.Values {
		sum := 0
		for _, x := range v {
			sum += x
		}
		peak = max(peak, sum)
	}
	scale := 1.0
	if peak > 0 {
		scale = float64(h-bottom-top) / float64(peak)
	}
	var b strings.Builder
	esc := template.HTMLEscapeString
	legend := legendPlaces(c.Series, left, w)
	rows := 1
	if len(legend) > 0 {
		rows += legend[len(legend)-1][1]
	}
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s">%s`, w, h+6+20*rows, esc(title), patterns)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#5b6470"/>`, left, h-bottom, w, h-bottom)
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="axis" text-anchor="end">%d</text><text x="%d" y="%d" class="axis" text-anchor="end">0</text>`,
		left-4, top+10, peak, left-4, h-bottom)
	slot := float64(w-left) / float64(max(len(c.Labels), 1))
	for i, l := range c.Labels {
		x := float64(left) + float64(i)*slot + slot*0.15
		y := float64(h - bottom)
		var tip []string
		for si, v := range c.Values[i] {
			if v == 0 {
				continue
			}
			bh := float64(v) * scale
			y -= bh
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="url(#%s)" stroke="#1b1f24" stroke-width=".5"/>`,
				x, y, slot*0.7, bh, c.Series[si].Pattern)
			tip = append(tip, fmt.Sprintf("%d %s", v, c.Series[si].Name))
		}
		if len(tip) > 0 {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="transparent"><title>%s: %s</title></rect>`,
				x, top, slot*0.7, h-bottom-top, esc(l), esc(strings.Join(tip, ", ")))
		}
		if len(c.Labels) <= 12 || i%3 == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="axis" text-anchor="middle">%s</text>`, x+slot*0.35, h-bottom+16, esc(l))
		}
	}
	for i, s := range c.Series {
		lx, ly := legend[i][0], h+6+20*legend[i][1]
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="14" height="14" fill="url(#%s)" stroke="#1b1f24" stroke-width=".5"/><text x="%d" y="%d" class="axis">%s</text>`,
			lx, ly, s.Pattern, lx+18, ly+11, esc(s.Name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// legendPlaces lays the series' legend out in rows from x = left to
// right: each entry's x and row.
func legendPlaces(ss []series, left, right int) [][2]int {
	out := make([][2]int, len(ss))
	x, row := left, 0
	for i, s := range ss {
		width := 30 + 7*len([]rune(s.Name))
		if x > left && x+width > right {
			x, row = left, row+1
		}
		out[i] = [2]int{x, row}
		x += width
	}
	return out
}
