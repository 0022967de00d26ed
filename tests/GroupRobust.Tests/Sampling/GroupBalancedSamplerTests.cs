using GroupRobust.Identification;
using GroupRobust.Sampling;
using GroupRobust.Tests.TestSupport;

namespace GroupRobust.Tests.Sampling;

public class GroupBalancedSamplerTests
{
    [Fact]
    public void Groups_are_drawn_equally_often_and_each_epoch_differs()
    {
        // groups: 0 x 80, 1 x 10, 3 x 10 (group 2 empty)
        var labels = Enumerable.Range(0, 100).Select(i => i < 90 ? 0 : 1).ToArray();
        var attrs = Enumerable.Range(0, 100).Select(i => i < 80 ? 0 : 1).ToArray();
        using var ds = Tiny.Dataset(labels, attrs);
        var s = new GroupBalancedSampler(GroupAssignment.FromTrueGroups(ds), seed: 1, epochLength: 30_000);
        var draws = s.ToArray();
        var groups = ds.Groups.ToArray();
        var perGroup = draws.GroupBy(i => groups[i]).ToDictionary(g => g.Key, g => g.Count());
        Assert.False(perGroup.ContainsKey(2));
        Assert.All(perGroup.Values, n => Assert.InRange(n, 9_500, 10_500));
        Assert.Equal(1.0 / 80 / 3, s.Probability(0), 12);
        Assert.Equal(0, s.Probability(2));
        Assert.NotEqual(draws.Take(100), s.Take(100));
        Assert.Equal(draws, new GroupBalancedSampler(GroupAssignment.FromTrueGroups(ds), seed: 1, epochLength: 30_000).ToArray());
        Assert.Equal(100, new GroupBalancedSampler(GroupAssignment.FromTrueGroups(ds), 0).EpochLength);
        using var noGroups = Tiny.Dataset([0, 1], null);
        Assert.Throws<InvalidOperationException>(() => new GroupBalancedSampler(GroupAssignment.FromTrueGroups(noGroups), 0));
    }
}
