using System.Numerics;
using GroupRobust.Distributed;

namespace GroupRobust.Tests.Distributed;

/// <summary>
/// A job of several ranks in one process, one thread per rank, exchanging through shared memory: unlike
/// <see cref="LoopbackCollective"/>, every rank holds its own values, so ranks that differ can be tested without mpirun.
/// Like MPI, every rank must call the same operation with the same length in the same order: a rank that calls another
/// one (or another length) makes every rank throw <see cref="CollectiveMismatchException"/> (MPI would fail with its
/// own error, or hang), a rank that fails while the others wait makes them throw too, and a wait of over a minute is
/// reported as a hang. <see cref="Run{T}"/> runs one body per rank and returns every rank's result or exception.
/// </summary>
internal sealed class ThreadJob
{
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(60);
    private readonly Barrier _barrier;
    private readonly (string Operation, Array Values)[] _slots;
    private readonly CancellationTokenSource _failed = new();

    private ThreadJob(int size)
    {
        _barrier = new Barrier(size);
        _slots = new (string, Array)[size];
    }

    /// <summary>Every rank's outcome: its result, or the exception it ended with.</summary>
    public sealed record Outcome<T>(T? Result, Exception? Error);

    /// <summary>Runs <paramref name="body"/> on <paramref name="size"/> ranks at once (rank r gets a collective of rank r).</summary>
    public static Outcome<T>[] Run<T>(int size, Func<ICollective, T> body)
    {
        var job = new ThreadJob(size);
        var outcomes = new Outcome<T>[size];
        var threads = Enumerable.Range(0, size).Select(rank => new Thread(() =>
        {
            try
            {
                outcomes[rank] = new Outcome<T>(body(new Member(job, rank)), null);
            }
            catch (Exception ex)
            {
                outcomes[rank] = new Outcome<T>(default, ex);
                job._failed.Cancel();   // the others must not wait for this rank
            }
        }, maxStackSize: 16 << 20) { IsBackground = true, Name = $"rank {rank}" }).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads)
            if (!t.Join(Hang * 3)) throw new TimeoutException($"{t.Name} did not finish.");
        return outcomes;
    }

    /// <summary>Runs <paramref name="body"/> on every rank (see <see cref="Run{T}"/>).</summary>
    public static Outcome<bool>[] Run(int size, Action<ICollective> body) => Run(size, c =>
    {
        body(c);
        return true;
    });

    private void Wait(int rank)
    {
        try
        {
            if (!_barrier.SignalAndWait(Hang, _failed.Token))
                throw new TimeoutException($"rank {rank} waited {Hang.TotalSeconds} s in a collective for the other ranks (a hang).");
        }
        catch (OperationCanceledException)
        {
            throw new CollectiveMismatchException($"rank {rank} waited in a collective that another rank left with an exception.");
        }
    }

    private T[] Exchange<T>(int rank, string operation, ReadOnlySpan<T> mine)
    {
        _slots[rank] = (operation, mine.ToArray());
        Wait(rank);
        var all = _slots.ToArray();
        Wait(rank);   // everyone has read the slots before any writes the next
        for (int r = 0; r < all.Length; r++)
            if (all[r].Operation != all[0].Operation || all[r].Values.Length != all[0].Values.Length)
                throw new CollectiveMismatchException($"rank 0 called {all[0].Operation}[{all[0].Values.Length}] while rank {r} called {all[r].Operation}[{all[r].Values.Length}] (MPI would fail with its own error or hang).");
        return all.Select(s => (T[])s.Values).SelectMany((v, r) => v).ToArray();
    }

    private static void Sum<T>(ThreadJob job, int rank, string name, Span<T> values) where T : INumber<T>
    {
        var all = job.Exchange<T>(rank, name, values);
        int n = values.Length;
        for (int i = 0; i < n; i++)
        {
            T sum = T.Zero;
            for (int r = 0; r < all.Length / Math.Max(n, 1); r++) sum += all[r * n + i];
            values[i] = sum;
        }
    }

    private sealed class Member(ThreadJob job, int rank) : ICollective
    {
        public int Rank => rank;
        public int Size => job._slots.Length;
        public void AllReduceSum(Span<float> values) => Sum(job, rank, "AllReduceSum(float)", values);
        public void AllReduceSum(Span<double> values) => Sum(job, rank, "AllReduceSum(double)", values);
        public void AllReduceSum(Span<long> values) => Sum(job, rank, "AllReduceSum(long)", values);
        public void Broadcast(Span<float> values, int root = 0)
        {
            var all = job.Exchange<float>(rank, $"Broadcast(float, root {root})", values);
            all.AsSpan(root * values.Length, values.Length).CopyTo(values);
        }
        public void Barrier() => job.Exchange<byte>(rank, "Barrier", []);
        public void Dispose() { }
    }
}

/// <summary>The ranks of a <see cref="ThreadJob"/> did not call the same collective (MPI's own error, or a hang).</summary>
internal sealed class CollectiveMismatchException(string message) : Exception(message);
