using GroupRobust.Evaluation;

namespace GroupRobust.Study;

/// <summary>
/// One row of the no-labels section (the JM1 paper's Table 4 protocol): JM1 on the error set of phase-I epoch T, selected
/// by validation average accuracy. Either a fixed T (<paramref name="TByValidation"/> false, one record per candidate) or
/// T chosen with the epoch as the fixed-T run of best validation average accuracy (true; <see cref="ChooseT"/>).
/// </summary>
/// <param name="Seed">The seed.</param>
/// <param name="T">The phase-I epoch whose error set JM1 trained on (for a chosen T, the one chosen).</param>
/// <param name="Result">The run's result at the epoch chosen by validation average accuracy.</param>
/// <param name="TByValidation">Whether T was chosen on validation average accuracy rather than fixed in advance.</param>
public sealed record NoLabelRecord(int Seed, int T, MethodResult Result, bool TByValidation = false)
{
    /// <summary>The name of the row with T chosen on validation average accuracy.</summary>
    public const string ChosenTName = "JM1 without group labels, T by validation average accuracy";

    /// <summary>The row's name in the comparison with ERM and the warnings' scope.</summary>
    public string RowName => TByValidation ? ChosenTName : FixedTName(T);

    /// <summary>The name of the no-labels run at the fixed <paramref name="t"/>.</summary>
    public static string FixedTName(int t) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"JM1 without group labels, T = {t}");

    /// <summary>The records by row, in report order: T chosen on validation first, then every fixed T in increasing order.</summary>
    public static IEnumerable<IGrouping<string, NoLabelRecord>> Rows(IEnumerable<NoLabelRecord> records)
        => records.OrderBy(r => r.TByValidation ? 0 : 1).ThenBy(r => r.TByValidation ? 0 : r.T).GroupBy(r => r.RowName);

    /// <summary>
    /// T chosen without any group label: of one seed's fixed-T records (one per candidate T, in any order), the one whose
    /// run reached the best validation average accuracy, the smallest T on ties. This is the (T, epoch) pair that
    /// <c>TwoPhaseRecipe.TrainJointly(MethodCatalog.Jm1, groups)</c> returns under
    /// <c>RecipeOptions.Selection = SelectionRule.AverageAccuracy</c>: it trains the same runs (the same seed stream and
    /// options at each T) and keeps the first best. TwoPhaseRecipeTests pins that TrainJointly returns the best fixed-T run;
    /// the Study's end-to-end test pins this choice against its fixed-T records.
    /// </summary>
    /// <exception cref="ArgumentException">No records, records of several seeds, or a record that is itself a chosen T.</exception>
    public static NoLabelRecord ChooseT(IReadOnlyList<NoLabelRecord> fixedT)
    {
        ArgumentNullException.ThrowIfNull(fixedT);
        if (fixedT.Count == 0 || fixedT.Any(r => r.TByValidation) || fixedT.Select(r => r.Seed).Distinct().Count() != 1)
            throw new ArgumentException($"Expected the fixed-T records of one seed; got {fixedT.Count} records, seeds {string.Join(", ", fixedT.Select(r => r.Seed).Distinct())}.", nameof(fixedT));
        NoLabelRecord? best = null;
        double bestScore = double.NegativeInfinity;
        foreach (var record in fixedT.OrderBy(r => r.T))
        {
            var history = record.Result.ValidationHistory;
            double score = SelectionRule.AverageAccuracy.Scores(history)[SelectionRule.AverageAccuracy.BestIndex(history)];
            if (best is null || score > bestScore) (best, bestScore) = (record, score);
        }
        return best! with { TByValidation = true, Result = best.Result with { Seconds = 0 } };   // chosen from the runs above, not trained again
    }
}
