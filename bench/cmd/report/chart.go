package main

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// chart is what every chart says: its title, the machine and date the
// figures are from (the title's second line), and its axes.
type chart struct {
	title, machine string
	x, y           string // the axes' labels
}

// series is a named set of figures: one bar a group for bars, points at
// x for lines.
type series struct {
	name string
	x, y []float64
}

// The size of every chart.
const (
	width  = 7 * vg.Inch
	height = 4 * vg.Inch
)

// newPlot is a plot with the chart's title and labels, its legend at the
// top left, inside, where headroom keeps it off the figures.
func newPlot(c chart) *plot.Plot {
	p := plot.New()
	p.Title.Text = c.title + "\n" + c.machine
	p.X.Label.Text = c.x
	p.Y.Label.Text = c.y
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Millimeter, -vg.Millimeter
	p.Add(plotter.NewGrid())
	return p
}

// bars draws grouped bars, one group a name in groups and in each group one
// bar a series, its y values in the order of groups.
func bars(w io.Writer, c chart, groups []string, ss []series) error {
	p := newPlot(c)
	barWidth := vg.Length(math.Min(float64(vg.Points(36)), float64(width)*0.7/float64(len(groups)*len(ss)+1)))
	top := 0.0
	for i, s := range ss {
		if len(s.y) != len(groups) {
			return fmt.Errorf("draw %q: series %q has %d values for %d groups", c.title, s.name, len(s.y), len(groups))
		}
		b, err := plotter.NewBarChart(plotter.Values(s.y), barWidth)
		if err != nil {
			return fmt.Errorf("draw %q: %w", c.title, err)
		}
		b.Color = seriesColor(i)
		b.LineStyle.Width = 0
		b.Offset = barWidth * vg.Length(2*i-len(ss)+1) / 2
		p.Add(b)
		if len(ss) > 1 {
			p.Legend.Add(s.name, b)
		}
		for _, v := range s.y {
			top = math.Max(top, v)
		}
	}
	p.NominalX(groups...)
	p.Y.Min = 0
	if len(ss) > 1 {
		p.Y.Max = top * (1 + 0.12*float64(len(ss)))
	}
	return write(w, p)
}

// lines draws each series as a line through its points; log scales for
// figures that span orders of magnitude.
func lines(w io.Writer, c chart, ss []series, logX, logY bool) error {
	p := newPlot(c)
	if logX {
		p.X.Scale = plot.LogScale{}
	}
	if logY {
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, logTicks{}
	}
	// A tick at each x measured: payload sizes, nodes, lines, workers.
	var xTicks plot.ConstantTicks
	top := 0.0
	for i, s := range ss {
		if len(s.x) != len(s.y) || len(s.x) == 0 {
			return fmt.Errorf("draw %q: series %q has %d x and %d y values", c.title, s.name, len(s.x), len(s.y))
		}
		xys := make(plotter.XYs, len(s.x))
		for j := range s.x {
			xys[j].X, xys[j].Y = s.x[j], s.y[j]
			top = math.Max(top, s.y[j])
			if !slices.ContainsFunc(xTicks, func(t plot.Tick) bool { return t.Value == s.x[j] }) {
				xTicks = append(xTicks, plot.Tick{Value: s.x[j], Label: strconv.FormatFloat(s.x[j], 'f', -1, 64)})
			}
		}
		l, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return fmt.Errorf("draw %q: %w", c.title, err)
		}
		l.Color, l.Dashes, l.Width = seriesColor(i), plotutil.Dashes(i), vg.Points(1.5)
		pts.Color, pts.Shape, pts.Radius = seriesColor(i), plotutil.Shape(i), vg.Points(3)
		p.Add(l, pts)
		p.Legend.Add(s.name, l, pts)
	}
	p.X.Tick.Marker = xTicks
	// Room above the lines for the legend.
	if logY {
		p.Y.Max = top * math.Pow(4, float64(len(ss))/2)
	} else {
		p.Y.Min = 0
		p.Y.Max = top * (1 + 0.12*float64(len(ss)))
	}
	return write(w, p)
}

// logTicks labels 1, 2 and 5 times each power of ten: plot.LogTicks
// labels the powers alone, too few over a range of a decade or less.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	// Powers by exponent, not by repeated products, which drift from 1000.
	for k := math.Floor(math.Log10(lo)); math.Pow(10, k) <= hi; k++ {
		for _, m := range []float64{1, 2, 5} {
			if v := m * math.Pow(10, k); v >= lo && v <= hi {
				ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
			}
		}
	}
	return ticks
}

// seriesColor is the i-th series' color: plotutil's dark ones, which read on
// white and on GitHub's dark theme.
func seriesColor(i int) color.Color { return plotutil.DarkColors[i%len(plotutil.DarkColors)] }

func write(w io.Writer, p *plot.Plot) error {
	canvas := vgsvg.New(width, height)
	p.Draw(draw.New(canvas))
	_, err := canvas.WriteTo(w)
	return err
}
