using static TorchSharp.torch;

namespace GroupRobust.Tests.TestSupport;

/// <summary>Deterministic thread misuse: a second thread acts while the first is inside a call of a stateful object.</summary>
internal static class ThreadIntrusion
{
    /// <summary>
    /// Runs <paramref name="intrude"/> on a second thread while this thread is inside a call of <paramref name="owner"/>
    /// (its ExclusiveUse guard, the field <c>_use</c>, held); returns what the intruder threw, or null.
    /// </summary>
    public static Exception? FromSecondThreadDuringACall(object owner, Action intrude)
    {
        var type = owner.GetType();
        System.Reflection.FieldInfo? field = null;
        for (; field is null && type is not null; type = type.BaseType)
            field = type.GetField("_use", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic);
        var guard = (GroupRobust.Internal.ExclusiveUse)(field ?? throw new InvalidOperationException($"{owner.GetType().Name} has no '_use' guard.")).GetValue(owner)!;
        Exception? seen = null;
        using (guard.Enter())
        {
            var t = new Thread(() =>
            {
                try
                {
                    using var scope = NewDisposeScope();
                    intrude();
                }
                catch (Exception ex)
                {
                    seen = ex;
                }
            });
            t.Start();
            t.Join();
        }
        return seen;
    }
}
