using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GroupRobust.Pretrained;

/// <summary>
/// A ResNet of basic blocks (He et al., 2016) with any number of blocks per stage and torchvision's names (conv1, bn1,
/// layer1.0.conv1, ..., downsample.0/1, fc): the arithmetic of torchvision's ResNet-18/34, for exports whose stages have
/// other block counts (CNTK's ImageNet "ResNet-18" has 2, 2, 2 and 3).
/// </summary>
internal sealed class BasicBlockResNet : Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Sequential layer1, layer2, layer3, layer4;
    private readonly Linear fc;

    public BasicBlockResNet(IReadOnlyList<int> blocks, int classes) : base("ResNet")
    {
        conv1 = Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false);
        bn1 = BatchNorm2d(64);
        int inPlanes = 64;
        Sequential Stage(int planes, int count, int stride)
        {
            var list = new List<(string, Module<Tensor, Tensor>)>();
            for (int i = 0; i < count; i++)
            {
                list.Add(($"{i}", new Block(inPlanes, planes, i == 0 ? stride : 1)));
                inPlanes = planes;
            }
            return Sequential(list);
        }
        layer1 = Stage(64, blocks[0], 1);
        layer2 = Stage(128, blocks[1], 2);
        layer3 = Stage(256, blocks[2], 2);
        layer4 = Stage(512, blocks[3], 2);
        fc = Linear(512, classes);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = functional.max_pool2d(functional.relu(bn1.call(conv1.call(x))), 3, 2, 1);
        y = layer4.call(layer3.call(layer2.call(layer1.call(y))));
        return fc.call(functional.adaptive_avg_pool2d(y, [1, 1]).flatten(1)).MoveToOuterDisposeScope();
    }

    private sealed class Block : Module<Tensor, Tensor>
    {
        private readonly Conv2d conv1, conv2;
        private readonly BatchNorm2d bn1, bn2;
        private readonly Sequential? downsample;

        public Block(int inPlanes, int planes, int stride) : base("BasicBlock")
        {
            conv1 = Conv2d(inPlanes, planes, 3, stride: stride, padding: 1, bias: false);
            bn1 = BatchNorm2d(planes);
            conv2 = Conv2d(planes, planes, 3, padding: 1, bias: false);
            bn2 = BatchNorm2d(planes);
            if (stride != 1 || inPlanes != planes) downsample = Sequential(Conv2d(inPlanes, planes, 1, stride: stride, bias: false), BatchNorm2d(planes));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var y = bn2.call(conv2.call(functional.relu(bn1.call(conv1.call(x)))));
            return functional.relu(y + (downsample is null ? x : downsample.call(x))).MoveToOuterDisposeScope();
        }
    }
}
