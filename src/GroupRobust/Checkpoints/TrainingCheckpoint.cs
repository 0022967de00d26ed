using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using GroupRobust.Internal;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GroupRobust.Checkpoints;

/// <summary>
/// Saves and restores everything a training loop needs to resume exactly: the model's parameters and buffers, the
/// optimizer's state, and a <see cref="CheckpointState"/> (epoch, the method's state, generator states, metadata). One file,
/// written atomically: a temporary file in the same folder is renamed over the target, so a crash mid-write leaves
/// the previous checkpoint intact (and the next save removes the temporary files a killed process left).
/// </summary>
/// <remarks>
/// <para>Layout (version 2): the ASCII tag <c>GRCKPT2</c> and a newline, then three sections "state" (UTF-8 JSON), "model" (TorchSharp's
/// <c>Module.save</c> format) and "optimizer" (<c>save_state_dict</c>; empty when none), each as its name, a
/// little-endian int64 length, the SHA-256 of its bytes, and the bytes. A flipped bit fails with a message naming the file
/// and the section. Version-1 files (no checksums) still load.</para>
/// <para>Guarantees: <see cref="Save"/> refuses a model with a disposed parameter or buffer, or one whose
/// <c>state_dict</c> lacks a parameter, before anything is written. <see cref="Load(string, nn.Module, OptimizerHelper?, Methods.ITrainingMethod?)"/>
/// is all or nothing: section lengths and checksums are checked against the file before anything is allocated or applied,
/// and when the model, the optimizer or the method state does not fit, everything it had changed is restored before it
/// throws. On the CPU a resumed run reproduces the uninterrupted run's numbers exactly (tested).</para>
/// </remarks>
public static class TrainingCheckpoint
{
    private static readonly byte[] TagV1 = Encoding.ASCII.GetBytes("GRCKPT1\n");
    private static readonly byte[] TagV2 = Encoding.ASCII.GetBytes("GRCKPT2\n");
    private static readonly string[] SectionNames = ["state", "model", "optimizer"];
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = false,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Writes a checkpoint atomically.</summary>
    /// <param name="path">Target file.</param>
    /// <param name="model">The model (parameters and buffers are saved); every parameter and buffer must be alive.</param>
    /// <param name="optimizer">The optimizer, or null.</param>
    /// <param name="state">Epoch, the method's state, generator states and metadata.</param>
    /// <exception cref="InvalidOperationException">A parameter or buffer of the model is disposed or missing from its state_dict; nothing is written.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The state's epoch is negative; nothing is written.</exception>
    /// <exception cref="ArgumentException">The state holds a null or empty generator state or a null metadata value; nothing is written.</exception>
    public static void Save(string path, nn.Module model, OptimizerHelper? optimizer, CheckpointState state)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(state);
        CheckState(state, nameof(state));
        CheckComplete(model);
        byte[] stateBytes = JsonSerializer.SerializeToUtf8Bytes(state, Json), modelBytes, optimizerBytes;
        using (var ms = new MemoryStream())
        {
            model.save(ms);
            modelBytes = ms.ToArray();
        }
        using (var ms = new MemoryStream())
        {
            if (optimizer is not null)
            {
                using var ow = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true);
                optimizer.save_state_dict(ow);
            }
            optimizerBytes = ms.ToArray();
        }
        AtomicFile.Write(path, file =>
        {
            using var w = new BinaryWriter(file, Encoding.UTF8, leaveOpen: true);
            w.Write(TagV2);
            WriteSection(w, "state", stateBytes);
            WriteSection(w, "model", modelBytes);
            WriteSection(w, "optimizer", optimizerBytes);
        });
    }

    /// <summary>Restores the model and optimizer in place and returns the saved state (see the remarks for the guarantees).</summary>
    /// <param name="path">A file written by <see cref="Save"/>.</param>
    /// <param name="model">A model of the same architecture.</param>
    /// <param name="optimizer">An optimizer over the model's parameters, of the same type as saved; null to skip.</param>
    /// <exception cref="FormatException">The file is not a checkpoint, is truncated or corrupted, or does not fit the model or optimizer (the message names the file and section); nothing was changed.</exception>
    public static CheckpointState Load(string path, nn.Module model, OptimizerHelper? optimizer) => Load(path, model, optimizer, null);

    /// <summary>
    /// Restores the model, the optimizer and the method's state as one transaction: if any of them does not fit, the model
    /// and the optimizer are put back as they were and the method is left unchanged.
    /// </summary>
    /// <param name="path">A file written by <see cref="Save"/>.</param>
    /// <param name="model">A model of the same architecture.</param>
    /// <param name="optimizer">An optimizer of the same type as saved; null to skip.</param>
    /// <param name="method">The method to restore <see cref="CheckpointState.Method"/> into; null to skip.</param>
    /// <exception cref="FormatException">As <see cref="Load(string, nn.Module, OptimizerHelper?)"/>, or the method state is missing or does not fit; nothing was changed.</exception>
    public static CheckpointState Load(string path, nn.Module model, OptimizerHelper? optimizer, Methods.ITrainingMethod? method)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(model);
        var sections = ReadSections(path);
        var state = ParseState(path, sections);
        if (optimizer is not null && sections["optimizer"].Length == 0)
            throw new FormatException($"{path}: the checkpoint has no optimizer state (it was saved without an optimizer); nothing was changed.");
        if (method is not null && state.Method is null)
            throw new FormatException($"{path}: the checkpoint holds no method state; nothing was changed.");

        var modelBefore = ModuleState.Copy(model);
        byte[]? optimizerBefore = optimizer is null ? null : OptimizerBytes(optimizer);
        string section = "model";
        try
        {
            using (var ms = new MemoryStream(sections["model"])) model.load(ms);
            if (optimizer is not null)
            {
                section = "optimizer";
                LoadOptimizer(optimizer, sections["optimizer"]);
            }
            if (method is not null)
            {
                section = "state (method)";
                method.SetState(state.Method!);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            using (torch.no_grad()) model.load_state_dict(modelBefore);
            if (optimizer is not null) LoadOptimizer(optimizer, optimizerBefore!);
            throw new FormatException($"{path}: the {section} section does not fit ({ex.Message}); the model{(optimizer is null ? "" : ", the optimizer")} and the method were left as they were.", ex);
        }
        finally
        {
            ModuleState.Free(modelBefore);
        }
        return state;
    }

    /// <summary>Reads and verifies a checkpoint's state section without applying anything (to check what it holds before <c>Load</c>).</summary>
    /// <param name="path">A file written by <see cref="Save"/>.</param>
    /// <exception cref="FormatException">The file is not a checkpoint, is truncated or corrupted (the message names the file and section).</exception>
    public static CheckpointState ReadState(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return ParseState(path, ReadSections(path));
    }

    private static CheckpointState ParseState(string path, Dictionary<string, byte[]> sections)
    {
        try
        {
            var state = JsonSerializer.Deserialize<CheckpointState>(sections["state"], Json) ?? throw new FormatException($"{path}: empty state section.");
            CheckState(state, "state");
            return state;
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{path}: the state section is not valid JSON: {ex.Message}", ex);
        }
        catch (ArgumentException ex)
        {
            throw new FormatException($"{path}: the state section is invalid: {ex.Message}", ex);
        }
    }

    /// <summary>The same rules on save and on load: a file that <see cref="Save"/> refuses never loads either.</summary>
    private static void CheckState(CheckpointState state, string paramName)
    {
        if (state.Epoch < 0)
            throw new ArgumentOutOfRangeException(paramName, state.Epoch, $"{nameof(CheckpointState)}.{nameof(CheckpointState.Epoch)} is {state.Epoch}; expected the last completed epoch, 0 or more.");
        if (state.RandomStates is null || state.Metadata is null)
            throw new ArgumentException($"{nameof(CheckpointState)}.{(state.RandomStates is null ? nameof(CheckpointState.RandomStates) : nameof(CheckpointState.Metadata))} is null; expected a dictionary (empty when there is none).", paramName);
        foreach (var (name, value) in state.RandomStates)
            if (value is null || value.Length == 0)
                throw new ArgumentException($"{nameof(CheckpointState)}.{nameof(CheckpointState.RandomStates)}['{name}'] is {(value is null ? "null" : "empty")}; expected a generator state (ReproducibleRandom.GetState).", paramName);
        foreach (var (name, value) in state.Metadata)
            if (value is null)
                throw new ArgumentException($"{nameof(CheckpointState)}.{nameof(CheckpointState.Metadata)}['{name}'] is null; expected a string.", paramName);
    }

    private static void CheckComplete(nn.Module model)
    {
        // TorchSharp's named_parameters() and state_dict() silently skip a disposed parameter, so look at what every
        // module registered (its internal parameter and buffer tables) as well.
        foreach (var (prefix, module) in model.named_modules().Prepend((string.Empty, model)))
        {
            foreach (var table in new[] { "_internal_params", "_internal_buffers" })
            {
                var dict = typeof(nn.Module).GetField(table, BindingFlags.Instance | BindingFlags.NonPublic)?.GetValue(module);
                var names = dict?.GetType().GetProperty("Keys")?.GetValue(dict) as IEnumerable<string>;
                var item = dict?.GetType().GetMethod("get_Item", [typeof(string)]);
                if (names is null || item is null) continue; // another TorchSharp layout: the state_dict checks below still run
                foreach (var name in names.ToArray())
                    if (item.Invoke(dict, [name]) is Tensor t && t.IsInvalid)
                        throw new InvalidOperationException($"{(table == "_internal_params" ? "Parameter" : "Buffer")} '{(prefix.Length == 0 ? name : prefix + "." + name)}' of the model is disposed: saving would silently drop it. Nothing was written.");
            }
        }
        foreach (var (name, p) in model.named_parameters())
            if (p.IsInvalid) throw new InvalidOperationException($"Parameter '{name}' of the model is disposed: saving would silently drop it. Nothing was written.");
        foreach (var (name, b) in model.named_buffers())
            if (b.IsInvalid) throw new InvalidOperationException($"Buffer '{name}' of the model is disposed: saving would silently drop it. Nothing was written.");
        var keys = model.state_dict().Keys.ToHashSet();
        foreach (var (name, _) in model.named_parameters())
            if (!keys.Contains(name)) throw new InvalidOperationException($"Parameter '{name}' is missing from the model's state_dict: saving would silently drop it. Nothing was written.");
    }

    /// <summary>The optimizer's state as bytes (its <c>save_state_dict</c>), to restore with <see cref="LoadOptimizer"/>.</summary>
    internal static byte[] OptimizerBytes(OptimizerHelper optimizer)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true)) optimizer.save_state_dict(w);
        return ms.ToArray();
    }

    /// <summary>Restores bytes from <see cref="OptimizerBytes"/>, refusing trailing bytes another optimizer would leave.</summary>
    internal static void LoadOptimizer(OptimizerHelper optimizer, byte[] bytes)
    {
        using var ms = new MemoryStream(bytes);
        using var r = new BinaryReader(ms);
        optimizer.load_state_dict(r);
        if (ms.Position != ms.Length)
            throw new FormatException($"the optimizer state has {ms.Length - ms.Position} bytes more than this optimizer reads (another optimizer type or parameter set?)");
    }

    private static void WriteSection(BinaryWriter w, string name, byte[] bytes)
    {
        w.Write(name);
        w.Write((long)bytes.Length);
        w.Write(SHA256.HashData(bytes));
        w.Write(bytes);
    }

    private static Dictionary<string, byte[]> ReadSections(string path)
    {
        using var file = File.OpenRead(path);
        using var r = new BinaryReader(file);
        var tag = r.ReadBytes(TagV2.Length);
        bool v2 = tag.AsSpan().SequenceEqual(TagV2);
        if (!v2 && !tag.AsSpan().SequenceEqual(TagV1)) throw new FormatException($"{path}: not a GroupRobust checkpoint (bad header).");
        var sections = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var expected in SectionNames)
        {
            try
            {
                if (v2)
                {
                    var name = r.ReadString();
                    if (name != expected) throw new FormatException($"{path}: expected the {expected} section, found '{name}' (corrupted).");
                }
                long length = r.ReadInt64();
                long remaining = file.Length - file.Position - (v2 ? 32 : 0);
                if (length < 0 || length > remaining)
                    throw new FormatException($"{path}: the {expected} section claims {length} bytes but only {Math.Max(remaining, 0)} remain (truncated or corrupted).");
                var hash = v2 ? r.ReadBytes(32) : null;
                var bytes = r.ReadBytes((int)length);
                if (hash is not null && !SHA256.HashData(bytes).AsSpan().SequenceEqual(hash))
                    throw new FormatException($"{path}: the {expected} section fails its checksum (the file is corrupted).");
                sections[expected] = bytes;
            }
            catch (EndOfStreamException ex)
            {
                throw new FormatException($"{path}: truncated in the {expected} section.", ex);
            }
        }
        if (file.Position != file.Length)
            throw new FormatException($"{path}: {file.Length - file.Position} bytes follow the last section (at byte {file.Position} of {file.Length}); a checkpoint ends with its optimizer section (corrupted or appended to).");
        return sections;
    }
}
