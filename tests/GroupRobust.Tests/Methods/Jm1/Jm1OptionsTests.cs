using GroupRobust.Methods;
using GroupRobust.Mixing;

namespace GroupRobust.Tests.Methods.Jm1;

/// <summary>JM1's default partner source, by layer (<see cref="Jm1Options.PartnersInEffect"/>).</summary>
public class Jm1OptionsTests
{
    [Fact]
    public void Partners_default_to_the_papers_draw_at_the_input_and_to_paired_batches_at_other_layers()
    {
        Assert.Equal(PartnerSource.Dataset, new Jm1Options().PartnersInEffect);
        Assert.Equal(PartnerSource.Dataset, new Jm1Options { Layer = MixingLayer.Random("input") }.PartnersInEffect);
        Assert.Equal(PartnerSource.Paired, new Jm1Options { Layer = MixingLayer.Output }.PartnersInEffect);
        Assert.Equal(PartnerSource.Paired, new Jm1Options { Layer = MixingLayer.Named("block2") }.PartnersInEffect);
        Assert.Equal(PartnerSource.Paired, new Jm1Options { Layer = MixingLayer.Random("input", "block1", "block2") }.PartnersInEffect);
        Assert.Equal(PartnerSource.Paired, new Jm1Options { Layer = MixingLayer.Random() }.PartnersInEffect);
        // detaching is an option of the two-pass form, so it keeps that form
        Assert.Equal(PartnerSource.Dataset, new Jm1Options { Layer = MixingLayer.Output, DetachPartners = true }.PartnersInEffect);
        // an explicit source is taken as given at any layer
        Assert.Equal(PartnerSource.Dataset, new Jm1Options { Layer = MixingLayer.Output, Partners = PartnerSource.Dataset }.PartnersInEffect);
        Assert.Equal(PartnerSource.Paired, new Jm1Options { Partners = PartnerSource.Paired }.PartnersInEffect);
        Assert.Equal(PartnerSource.Batch, new Jm1Options { Layer = MixingLayer.Output, Partners = PartnerSource.Batch }.PartnersInEffect);
        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => new Jm1Options { Partners = (PartnerSource)7 }.Validate());
        Assert.Equal("Partners", bad.ParamName);
    }
}
