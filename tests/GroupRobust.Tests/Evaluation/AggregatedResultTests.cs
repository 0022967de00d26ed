using GroupRobust.Evaluation;

namespace GroupRobust.Tests.Evaluation;

public class AggregatedResultTests
{
    private static EvaluationResult Result(long c0, long c1) => new()
    {
        Groups = [new GroupAccuracy(0, "g0", 10, c0), new GroupAccuracy(1, "g1", 10, c1)],
        Classes = [new ClassAccuracy(0, "c0", 20, c0 + c1)],
        Count = 20,
        Correct = c0 + c1,
        WorstGroup = c0 <= c1 ? 0 : 1,
        BalancedAccuracy = (c0 + c1) / 20.0,
    };

    [Fact]
    public void Mean_and_population_std_over_runs()
    {
        var agg = AggregatedResult.Aggregate([Result(6, 10), Result(8, 10), Result(10, 10)]);
        Assert.Equal(0.8, agg.WorstGroupAccuracy!.Mean, 12);
        Assert.Equal(Math.Sqrt(((0.2 * 0.2) + 0 + (0.2 * 0.2)) / 3), agg.WorstGroupAccuracy.StandardDeviation, 12);
        Assert.Equal(0.9, agg.AverageAccuracy.Mean, 12);
        Assert.Equal(3, agg.AverageAccuracy.Runs);
        Assert.Equal(1.0, agg.Groups[1]!.Mean, 12);
        Assert.Equal("80.0 ± 16.3", agg.WorstGroupAccuracy.ToString());
        Assert.Equal(0, AggregatedResult.Aggregate([Result(6, 10)]).AverageAccuracy.StandardDeviation);
        Assert.Throws<ArgumentException>(() => AggregatedResult.Aggregate([]));
    }
}
