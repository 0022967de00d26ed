namespace GroupRobust.Internal;

/// <summary>
/// Detects use of a stateful object from two threads at once (the library's stateful pieces are not thread-safe) and
/// use after disposal: <see cref="Enter"/> throws instead of letting updates be lost or a disposed tensor be touched.
/// Re-entrant on the owning thread. Cost: one interlocked compare-exchange per call.
/// </summary>
internal sealed class ExclusiveUse(string what)
{
    private int _owner;
    private int _depth;
    private volatile bool _disposed;

    /// <summary>Marks the object disposed: later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose() => _disposed = true;

    /// <summary>
    /// Frees the object's resources with <paramref name="free"/> as a call of its own, then marks it disposed: a dispose
    /// while another thread is inside a call throws (instead of freeing tensors that call is using); a second dispose does nothing.
    /// </summary>
    /// <exception cref="InvalidOperationException">Another thread is inside a call.</exception>
    public void Dispose(Action free)
    {
        if (_disposed) return;
        using (Enter())
        {
            // marked before the resources go and before the call ends: no other thread can enter between the two
            _disposed = true;
            free();
        }
    }

    /// <summary>Enters a call; dispose the returned scope when the call ends.</summary>
    /// <exception cref="ObjectDisposedException">The object was disposed.</exception>
    /// <exception cref="InvalidOperationException">Another thread is inside a call.</exception>
    public Scope Enter()
    {
        int me = Environment.CurrentManagedThreadId;
        int owner = Interlocked.CompareExchange(ref _owner, me, 0);
        if (owner != 0 && owner != me)
            throw new InvalidOperationException($"The {what} is being used from two threads at once; it is not thread-safe. Give each thread its own {what}.");
        if (owner == 0 && _disposed)
        {
            // a new call after (or racing with) the dispose; a call nested in the owner's own call, the dispose's included, goes on
            Volatile.Write(ref _owner, 0);
            throw new ObjectDisposedException(what, $"The {what} has been disposed.");
        }
        _depth++;
        return new Scope(this);
    }

    /// <summary>The span of one call.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly ExclusiveUse _use;

        internal Scope(ExclusiveUse use) => _use = use;

        /// <summary>Leaves the call.</summary>
        public void Dispose()
        {
            if (--_use._depth == 0) Volatile.Write(ref _use._owner, 0);
        }
    }
}
