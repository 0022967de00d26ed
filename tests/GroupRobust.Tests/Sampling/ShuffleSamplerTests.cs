using GroupRobust.Data;
using GroupRobust.Sampling;

namespace GroupRobust.Tests.Sampling;

public class ShuffleSamplerTests
{
    [Fact]
    public void Each_epoch_is_a_new_permutation_and_replays_from_the_epoch_alone()
    {
        var s = new ShuffleSampler(50, seed: 4);
        var e0 = s.ToArray();
        var e1 = s.ToArray();
        Assert.Equal(3, s.Epoch);   // epochs are numbered from 1: the next is the third
        Assert.NotEqual(e0, e1);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), e0.OrderBy(v => v));
        var resumed = new ShuffleSampler(50, seed: 4) { Epoch = 2 };
        Assert.Equal(e1, resumed.ToArray());
        Assert.Equal(e0, s.IndicesForEpoch(1));
        Assert.Equal(50, s.EpochLength);
    }

    [Fact]
    public void Rejects_bad_arguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ShuffleSampler(0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ShuffleSampler(3, 1).Epoch = 0);
    }
}
