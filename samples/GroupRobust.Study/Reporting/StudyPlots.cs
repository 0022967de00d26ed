using GroupRobust.Evaluation;
using ScottPlot;

namespace GroupRobust.Study.Reporting;

/// <summary>
/// PNG plots (ScottPlot): validation curves per method (as the JM1 paper's Figure 10) and per-group test accuracy bars.
/// A reader must tell every line apart: each figure has one panel per method family (ERM, reweighting and robust
/// losses; mixing; last-layer retraining, whose rows are not epoch curves), at most eight methods per panel, the legend
/// outside the data, and every method keeps one colour, marker and line pattern in every figure.
/// </summary>
internal static class StudyPlots
{
    /// <summary>The font every plot uses, shipped with the Study (DejaVu Sans, its license next to it): machines without system fonts (minimal containers, the GPU machine) would otherwise get plots without any text.</summary>
    private const string FontName = "DejaVu Sans (GroupRobust)";

    /// <summary>At most this many methods share a panel.</summary>
    internal const int MaxSeries = 8;

    private static readonly Lazy<bool> FontRegistered = new(() =>
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Reporting", "Fonts", "DejaVuSans.ttf");
        if (!File.Exists(path)) return false;
        Fonts.AddFontFile(FontName, path);
        return true;
    });

    private static readonly MarkerShape[] Markers =
        [MarkerShape.FilledCircle, MarkerShape.FilledSquare, MarkerShape.FilledTriangleUp, MarkerShape.FilledDiamond, MarkerShape.OpenCircle, MarkerShape.OpenSquare, MarkerShape.FilledTriangleDown, MarkerShape.OpenDiamond];

    private static readonly LinePattern[] Patterns = [LinePattern.Solid, LinePattern.Dashed, LinePattern.Dotted];

    private static Plot NewPlot()
    {
        var plot = new Plot();
        if (FontRegistered.Value) plot.Font.Set(FontName);
        return plot;
    }

    /// <summary>A method's look: the same in every figure.</summary>
    private sealed record Look(Color Color, MarkerShape Marker, LinePattern Pattern);

    /// <summary>
    /// Each method's look from its place in its panel (the panels are the same in every figure): ten clearly different
    /// colours (Category10), a marker and a line pattern per place, so no two lines of a panel share any of them.
    /// </summary>
    private static Dictionary<string, Look> Looks(IReadOnlyList<MethodResult> results)
    {
        var palette = new ScottPlot.Palettes.Category10();
        var looks = new Dictionary<string, Look>(StringComparer.Ordinal);
        foreach (var (_, methods, _) in Panels(results))
            for (int i = 0; i < methods.Count; i++)
                looks[methods[i]] = new Look(palette.GetColor(i), Markers[i % Markers.Length], Patterns[i % Patterns.Length]);
        return looks;
    }

    /// <summary>The family panels of a figure: methods in the study's order, at most <see cref="MaxSeries"/> per panel.</summary>
    internal static IReadOnlyList<(string Title, IReadOnlyList<string> Methods, bool LastLayer)> Panels(IReadOnlyList<MethodResult> results)
    {
        var order = StudyReport.MethodOrder(results);
        var lastLayer = results.Where(r => r.LastLayer).Select(r => r.Method).ToHashSet(StringComparer.Ordinal);
        var families = new (string Title, Func<string, bool> Member, bool LastLayer)[]
        {
            ("ERM, reweighting and robust losses", m => !lastLayer.Contains(m) && !IsMixing(m), false),
            ("Mixing", m => !lastLayer.Contains(m) && IsMixing(m), false),
            ("Last-layer retraining (the fitted head on validation; not an epoch curve)", lastLayer.Contains, true),
        };
        var panels = new List<(string, IReadOnlyList<string>, bool)>();
        foreach (var (title, member, last) in families)
        {
            var methods = order.Where(member).ToList();
            var chunks = methods.Chunk(MaxSeries).ToList();
            for (int c = 0; c < chunks.Count; c++)
                panels.Add((chunks.Count == 1 ? title : $"{title} ({c + 1} of {chunks.Count})", chunks[c], last));
        }
        return panels;
    }

    private static bool IsMixing(string method) => method.StartsWith("JM1", StringComparison.Ordinal) || method.Contains("MixUp", StringComparison.Ordinal)
        || method.StartsWith("LISA", StringComparison.Ordinal) || method.StartsWith("GroupJM1", StringComparison.Ordinal);

    public static void Write(string folder, IReadOnlyList<MethodResult> results, int seed)
    {
        var looks = Looks(results);
        var ofSeed = results.Where(r => r.Seed == seed).ToList();
        Curves(Path.Combine(folder, "val-worst-group.png"), $"Validation worst-group accuracy (seed {seed})", ofSeed, looks, r => r.WorstGroupAccuracy ?? double.NaN);
        Curves(Path.Combine(folder, "val-average.png"), $"Validation average accuracy (seed {seed})", ofSeed, looks, r => r.AverageAccuracy);
        Bars(Path.Combine(folder, "test-per-group.png"), results, looks);
    }

    private static void Save(string path, List<Plot> plots, int width, int panelHeight)
    {
        var multi = new Multiplot(plots[0]);
        foreach (var p in plots.Skip(1)) multi.AddPlot(p);
        multi.Layout = new ScottPlot.MultiplotLayouts.Rows();
        multi.SavePng(path, width, panelHeight * plots.Count);
    }

    private static void Curves(string path, string title, IReadOnlyList<MethodResult> results, Dictionary<string, Look> looks, Func<EvaluationResult, double> metric)
    {
        var plots = new List<Plot>();
        foreach (var (panel, methods, lastLayer) in Panels(results))
        {
            var plot = NewPlot();
            plot.Title(plots.Count == 0 ? $"{title}\n{panel}" : panel);
            plot.YLabel("accuracy (%)");
            if (lastLayer)
            {
                // one value per row: the fitted head's validation accuracy, a point per method (no epoch axis)
                for (int i = 0; i < methods.Count; i++)
                {
                    var r = results.First(x => x.Method == methods[i]);
                    var look = looks[r.Method];
                    var point = plot.Add.Scatter(new double[] { i + 1 }, new[] { metric(r.LastLayerValidation ?? r.Test) * 100 });
                    point.Color = look.Color;
                    point.MarkerShape = look.Marker;
                    point.MarkerSize = 12;
                    point.LegendText = r.Method;
                }
                plot.Axes.Bottom.SetTicks(Enumerable.Range(1, methods.Count).Select(i => (double)i).ToArray(), Enumerable.Range(1, methods.Count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray());
                plot.XLabel("row (see the legend)");
                plot.Axes.SetLimitsX(0.5, methods.Count + 0.5);
            }
            else
            {
                foreach (var method in methods)
                {
                    var r = results.First(x => x.Method == method);
                    var look = looks[method];
                    var line = plot.Add.Scatter(r.ValidationHistory.Select(e => (double)e.Epoch).ToArray(), r.ValidationHistory.Select(e => metric(e.Result) * 100).ToArray());
                    line.Color = look.Color;
                    line.MarkerShape = look.Marker;
                    line.MarkerSize = 7;
                    line.LinePattern = look.Pattern;
                    line.LineWidth = 2;
                    line.LegendText = method;
                }
                plot.XLabel("epoch");
                plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };   // epochs are whole numbers
            }
            plot.ShowLegend(Edge.Right);
            plots.Add(plot);
        }
        Save(path, plots, 1100, 330);
    }

    private static void Bars(string path, IReadOnlyList<MethodResult> results, Dictionary<string, Look> looks)
    {
        var groups = results[0].Test.Groups.Select(g => g.Name).ToList();
        var plots = new List<Plot>();
        foreach (var (panel, methods, _) in Panels(results))
        {
            var plot = NewPlot();
            var bars = new List<Bar>();
            for (int m = 0; m < methods.Count; m++)
            {
                var agg = AggregatedResult.Aggregate(results.Where(r => r.Method == methods[m]).Select(r => r.Test).ToList());
                for (int g = 0; g < groups.Count; g++)
                    bars.Add(new Bar { Position = g * (methods.Count + 1) + m, Value = (agg.Groups[g]?.Mean ?? 0) * 100, FillColor = looks[methods[m]].Color });
            }
            plot.Add.Bars(bars);
            foreach (var m in methods)
                plot.Legend.ManualItems.Add(new LegendItem { LabelText = m, FillColor = looks[m].Color });
            plot.Axes.Bottom.SetTicks(groups.Select((_, g) => g * (methods.Count + 1) + (methods.Count - 1) / 2.0).ToArray(), groups.ToArray());
            plot.Title(plots.Count == 0 ? $"Test accuracy per group\n{panel}" : panel);
            plot.YLabel("accuracy (%)");
            plot.ShowLegend(Edge.Right);
            plot.Axes.Margins(bottom: 0);
            plots.Add(plot);
        }
        Save(path, plots, 1200, 330);
    }
}
