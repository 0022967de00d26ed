using GroupRobust.Groups;

namespace GroupRobust.Tests.Groups;

public class GroupSchemeTests
{
    [Fact]
    public void GroupOf_follows_the_reference_convention_and_inverts()
    {
        var s = new GroupScheme(3, 2);
        Assert.Equal(6, s.NumGroups);
        Assert.Equal(5, s.GroupOf(2, 1));
        Assert.Equal(2, s.GroupOf(1, 0));
        for (int g = 0; g < 6; g++)
        {
            var (y, a) = s.Decompose(g);
            Assert.Equal(g, s.GroupOf(y, a));
        }
    }

    [Fact]
    public void Names_read_like_the_papers()
    {
        var s = GroupScheme.Binary(["landbird", "waterbird"], ["land", "water"]);
        Assert.Equal("(landbird, water)", s.GroupName(1));
        Assert.Equal("(waterbird, land)", s.GroupName(2));
        Assert.Equal("(y=1, a=0)", GroupScheme.Binary().GroupName(2));
    }

    [Theory]
    [InlineData(2, 0)]
    [InlineData(-1, 0)]
    [InlineData(0, 2)]
    [InlineData(0, -1)]
    public void GroupOf_rejects_out_of_range_values(int y, int a)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => GroupScheme.Binary().GroupOf(y, a));
        Assert.Contains("[0, 1]", ex.Message);
    }

    [Fact]
    public void Construction_validates()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new GroupScheme(1, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GroupScheme(2, 0));
        var ex = Assert.Throws<ArgumentException>(() => new GroupScheme(2, 2, ["a"]));
        Assert.Contains("Expected 2 class names, got 1", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => GroupScheme.Binary().Decompose(4));
    }

    [Fact]
    public void Equality_is_structural()
    {
        Assert.Equal(GroupScheme.Binary(["a", "b"]), GroupScheme.Binary(["a", "b"]));
        Assert.NotEqual(GroupScheme.Binary(["a", "b"]), GroupScheme.Binary(["a", "c"]));
    }

    [Fact]
    public void A_scheme_whose_group_count_overflows_is_rejected()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new GroupScheme(50_000_000, 2));
        Assert.Contains("50000000 classes x 2 attribute values", ex.Message);
    }
}
