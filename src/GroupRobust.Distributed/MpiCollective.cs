using System.Runtime.InteropServices;

namespace GroupRobust.Distributed;

/// <summary>
/// <see cref="ICollective"/> on Open MPI (Debian's <c>openmpi-bin</c> and <c>libopenmpi-dev</c>), through a thin
/// P/Invoke binding to <c>libmpi.so.40</c>. Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are the
/// addresses of exported globals, resolved with <see cref="NativeLibrary.GetExport"/>. Launch the program with
/// <c>mpirun -np N</c>; a process started without mpirun is a job of one. Disposing finalizes MPI. One instance per
/// process; not thread-safe (MPI is initialised without thread support). An exception no code catches ends the whole
/// job (MPI_Abort, after printing it), so that the other ranks never wait for a rank that has failed.
/// </summary>
public sealed unsafe class MpiCollective : ICollective
{
    private const string Library = "libmpi.so.40";
    private static readonly IntPtr Handle = NativeLibrary.Load(Library);
    private static readonly IntPtr CommWorld = NativeLibrary.GetExport(Handle, "ompi_mpi_comm_world");
    private static readonly IntPtr MpiFloat = NativeLibrary.GetExport(Handle, "ompi_mpi_float");
    private static readonly IntPtr MpiDouble = NativeLibrary.GetExport(Handle, "ompi_mpi_double");
    private static readonly IntPtr MpiInt64 = NativeLibrary.GetExport(Handle, "ompi_mpi_int64_t");
    private static readonly IntPtr OpSum = NativeLibrary.GetExport(Handle, "ompi_mpi_op_sum");
    private static readonly IntPtr InPlace = new(1);   // Open MPI's MPI_IN_PLACE is ((void *) 1)
    private bool _disposed;

    [DllImport(Library)] private static extern int MPI_Init(IntPtr argc, IntPtr argv);
    [DllImport(Library)] private static extern int MPI_Initialized(out int flag);
    [DllImport(Library)] private static extern int MPI_Finalize();
    [DllImport(Library)] private static extern int MPI_Comm_rank(IntPtr comm, out int rank);
    [DllImport(Library)] private static extern int MPI_Comm_size(IntPtr comm, out int size);
    [DllImport(Library)] private static extern int MPI_Allreduce(IntPtr sendbuf, void* recvbuf, int count, IntPtr datatype, IntPtr op, IntPtr comm);
    [DllImport(Library)] private static extern int MPI_Bcast(void* buffer, int count, IntPtr datatype, int root, IntPtr comm);
    [DllImport(Library)] private static extern int MPI_Barrier(IntPtr comm);
    [DllImport(Library)] private static extern int MPI_Abort(IntPtr comm, int errorcode);

    /// <summary>Initialises MPI (once per process) and reads this process's rank and the job's size.</summary>
    /// <exception cref="DllNotFoundException">Open MPI is not installed (<c>apt-get install openmpi-bin libopenmpi-dev</c>).</exception>
    public MpiCollective()
    {
        Check(MPI_Initialized(out int initialized), "MPI_Initialized");
        if (initialized == 0) Check(MPI_Init(IntPtr.Zero, IntPtr.Zero), "MPI_Init");
        Check(MPI_Comm_rank(CommWorld, out int rank), "MPI_Comm_rank");
        Check(MPI_Comm_size(CommWorld, out int size), "MPI_Comm_size");
        Rank = rank;
        Size = size;
        // a rank that fails must not leave the others waiting in a collective: an unhandled exception ends the whole job
        AppDomain.CurrentDomain.UnhandledException += AbortOnUnhandled;
    }

    private void AbortOnUnhandled(object? sender, UnhandledExceptionEventArgs e)
    {
        if (_disposed || Size == 1) return;
        // one write of the whole message: the console writer would hand a long message (the exception and its stack) to
        // the pipe in several writes, which mpirun can interleave with another failing rank's, cutting both messages
        var message = System.Text.Encoding.UTF8.GetBytes($"GroupRobust.Distributed: rank {Rank} of {Size} failed; ending the job (MPI_Abort). {e.ExceptionObject}{Environment.NewLine}");
        Console.Error.Flush();
        using (var stderr = Console.OpenStandardError())
        {
            stderr.Write(message);
            stderr.Flush();
        }
        MPI_Abort(CommWorld, 1);
    }

    /// <inheritdoc />
    public int Rank { get; }

    /// <inheritdoc />
    public int Size { get; }

    /// <inheritdoc />
    public void AllReduceSum(Span<float> values) => AllReduce(MemoryMarshal.AsBytes(values), values.Length, MpiFloat);

    /// <inheritdoc />
    public void AllReduceSum(Span<double> values) => AllReduce(MemoryMarshal.AsBytes(values), values.Length, MpiDouble);

    /// <inheritdoc />
    public void AllReduceSum(Span<long> values) => AllReduce(MemoryMarshal.AsBytes(values), values.Length, MpiInt64);

    /// <inheritdoc />
    public void Broadcast(Span<float> values, int root = 0)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if ((uint)root >= (uint)Size) throw new ArgumentOutOfRangeException(nameof(root), root, $"The root must be a rank in [0, {Size}).");
        fixed (float* p = values) Check(MPI_Bcast(p, values.Length, MpiFloat, root, CommWorld), "MPI_Bcast");
    }

    /// <inheritdoc />
    public void Barrier()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Check(MPI_Barrier(CommWorld), "MPI_Barrier");
    }

    /// <summary>Ends the whole job with <paramref name="code"/> (every rank exits): for a failure the other ranks must not wait on.</summary>
    public void Abort(int code) => MPI_Abort(CommWorld, code);

    /// <summary>Finalizes MPI; call once, after the last collective, on every rank.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        AppDomain.CurrentDomain.UnhandledException -= AbortOnUnhandled;
        MPI_Finalize();
    }

    private void AllReduce(Span<byte> bytes, int count, IntPtr datatype)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (count == 0) return;
        fixed (byte* p = bytes) Check(MPI_Allreduce(InPlace, p, count, datatype, OpSum, CommWorld), "MPI_Allreduce");
    }

    private static void Check(int code, string call)
    {
        if (code != 0) throw new InvalidOperationException($"{call} failed with MPI error code {code}.");
    }
}
