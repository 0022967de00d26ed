using GroupRobust.Data;
using GroupRobust.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace GroupRobust.Models;

/// <summary>
/// Computes the penultimate-layer features of a trained model over a dataset once: the input of its final
/// <c>Linear</c> classifier (ResNet's pooled 2048-d vector, BERT's pooled output; <see cref="IEncoderHead.Encode"/> for a
/// model that declares its encoder), as DFR's and AFR's references extract them (model in eval mode, no augmentation). The result is an in-memory <see cref="TensorGroupDataset"/> of features
/// with the dataset's labels and groups, on the model's device, so a last layer can be trained on it with any method and
/// the ready loop, and put back with <see cref="LinearHead.Load"/>.
/// </summary>
/// <remarks>Streamed in batches (no grad, eval mode; the model's modes are restored); memory is one batch plus the N x D float32 feature matrix. One host copy of the features' shape at the first batch; no per-batch sync.</remarks>
public static class FeatureExtractor
{
    /// <summary>Extracts the features.</summary>
    /// <param name="model">The trained classifier (not owned).</param>
    /// <param name="dataset">The samples, e.g. a split of the training set, validation or test.</param>
    /// <param name="classifierName">The final classifier module; null picks the final layer: the last leaf module holding parameters, in depth-first (definition) order (it must be a <c>Linear</c> where a linear layer is needed).</param>
    /// <param name="batchSize">Batch size of the pass, at least 1 (default 512).</param>
    /// <param name="device">Device to run on and store the features; null keeps the dataset's.</param>
    /// <returns>Features [N, D] (float32) with the dataset's labels and, when it has them, its groups; owned by the caller.</returns>
    /// <exception cref="ArgumentException">The model has no <c>Linear</c> classifier of that name, or its forward never calls it through <c>call()</c>.</exception>
    public static TensorGroupDataset Extract(nn.Module<Tensor, Tensor> model, IGroupDataset dataset, string? classifierName = null, int batchSize = 512, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var head = ClassifierModule.Linear(model, classifierName, nameof(classifierName));
        Tensor? features = null;
        Tensor? captured = null;
        using var modes = TrainingModes.Evaluating(model);
        // a declared encoder gives the representation directly; otherwise a hook takes the head's input
        var declared = classifierName is null ? model as IEncoderHead : null;
        var hook = declared is not null ? null : head.register_forward_pre_hook((_, input) =>
        {
            // copy now, outside every scope: the module's own forward may free its input once it has run, and a model
            // nested in another (torchvision's ResNet inside a Sequential) disposes its own scope's tensors on return
            captured?.Dispose();
            captured = input.detach().flatten(1).to(ScalarType.Float32).clone().DetachFromDisposeScope();
            return input;
        });
        try
        {
            using var noGrad = torch.no_grad();
            foreach (var batch in dataset.Batches(batchSize))
            {
                using var scope = NewDisposeScope();
                captured?.Dispose();
                captured = null;
                var inputs = device is null ? batch.Inputs : batch.Inputs.to(device);
                if (declared is not null) captured = declared.Encode(inputs).flatten(1).to(ScalarType.Float32).DetachFromDisposeScope();
                else model.call(inputs);
                if (captured is null)
                    throw new ArgumentException($"The classifier's hook did not fire: the model's forward does not invoke its final Linear through call(), so its input cannot be captured.", nameof(model));
                var h = captured;
                features ??= torch.zeros([dataset.Count, h.shape[1]], ScalarType.Float32, h.device).DetachFromDisposeScope();
                features.index_copy_(0, torch.tensor(batch.Indices, ScalarType.Int64, h.device), h);
            }
            using var s = NewDisposeScope();
            var labels = torch.tensor(dataset.Labels.ToArray().Select(v => (long)v).ToArray(), ScalarType.Int64, features!.device);
            Tensor? attributes = dataset.HasGroups
                ? torch.tensor(dataset.Groups.ToArray().Select(g => (long)(g % dataset.Scheme.NumAttributes)).ToArray(), ScalarType.Int64, features.device)
                : null;
            return new TensorGroupDataset(features, labels, dataset.Scheme, attributes);
        }
        finally
        {
            hook?.remove();
            captured?.Dispose();
            features?.Dispose();
        }
    }
}
