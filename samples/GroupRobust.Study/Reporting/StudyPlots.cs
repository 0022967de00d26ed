using GroupRobust.Evaluation;
using ScottPlot;

namespace GroupRobust.Study.Reporting;

/// <summary>PNG plots (ScottPlot): validation curves per method (as the JM1 paper's Figure 10) and per-group test accuracy bars.</summary>
internal static class StudyPlots
{
    /// <summary>The font every plot uses, shipped with the Study (DejaVu Sans, its license next to it): machines without system fonts (minimal containers, the GPU machine) would otherwise get plots without any text.</summary>
    private const string FontName = "DejaVu Sans (GroupRobust)";

    private static readonly Lazy<bool> FontRegistered = new(() =>
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Reporting", "Fonts", "DejaVuSans.ttf");
        if (!File.Exists(path)) return false;
        Fonts.AddFontFile(FontName, path);
        return true;
    });

    private static Plot NewPlot()
    {
        var plot = new Plot();
        if (FontRegistered.Value) plot.Font.Set(FontName);
        return plot;
    }

    public static void Write(string folder, IReadOnlyList<MethodResult> results, int seed)
    {
        Curves(Path.Combine(folder, "val-worst-group.png"), "Validation worst-group accuracy", results.Where(r => r.Seed == seed), r => r.WorstGroupAccuracy ?? double.NaN);
        Curves(Path.Combine(folder, "val-average.png"), "Validation average accuracy", results.Where(r => r.Seed == seed), r => r.AverageAccuracy);
        Bars(Path.Combine(folder, "test-per-group.png"), results);
    }

    private static void Curves(string path, string title, IEnumerable<MethodResult> results, Func<EvaluationResult, double> metric)
    {
        var plot = NewPlot();
        foreach (var r in results)
        {
            var xs = r.ValidationHistory.Select(e => (double)e.Epoch).ToArray();
            var ys = r.ValidationHistory.Select(e => metric(e.Result) * 100).ToArray();
            plot.Add.Scatter(xs, ys).LegendText = r.Method;
        }
        plot.Title(title);
        plot.XLabel("epoch");
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };   // epochs are whole numbers
        plot.YLabel("accuracy (%)");
        plot.ShowLegend(Alignment.LowerRight);
        plot.SavePng(path, 900, 560);
    }

    private static void Bars(string path, IReadOnlyList<MethodResult> results)
    {
        var methods = StudyReport.MethodOrder(results);
        var groups = results[0].Test.Groups.Select(g => g.Name).ToList();
        var plot = NewPlot();
        var palette = new ScottPlot.Palettes.Category10();
        var bars = new List<Bar>();
        for (int m = 0; m < methods.Count; m++)
        {
            var agg = AggregatedResult.Aggregate(results.Where(r => r.Method == methods[m]).Select(r => r.Test).ToList());
            for (int g = 0; g < groups.Count; g++)
                bars.Add(new Bar { Position = g * (methods.Count + 1) + m, Value = (agg.Groups[g]?.Mean ?? 0) * 100, FillColor = palette.GetColor(m) });
        }
        plot.Add.Bars(bars);
        for (int m = 0; m < methods.Count; m++)
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = methods[m], FillColor = palette.GetColor(m) });
        plot.Axes.Bottom.SetTicks(groups.Select((_, g) => g * (methods.Count + 1) + (methods.Count - 1) / 2.0).ToArray(), groups.ToArray());
        plot.Title("Test accuracy per group");
        plot.YLabel("accuracy (%)");
        plot.ShowLegend(Alignment.LowerLeft);
        plot.Axes.Margins(bottom: 0);
        plot.SavePng(path, 1100, 560);
    }
}
