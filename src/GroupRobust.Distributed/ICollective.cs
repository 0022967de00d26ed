namespace GroupRobust.Distributed;

/// <summary>
/// The few collective operations data-parallel training needs, over host buffers: every process (rank) of a job calls
/// each operation in the same order. <see cref="MpiCollective"/> implements it on Open MPI; a GPU implementation (NCCL)
/// would take device buffers instead (docs/distributed.md).
/// </summary>
public interface ICollective : IDisposable
{
    /// <summary>This process's rank in [0, <see cref="Size"/>).</summary>
    int Rank { get; }

    /// <summary>The number of processes in the job (at least 1).</summary>
    int Size { get; }

    /// <summary>Replaces <paramref name="values"/> on every rank by the element-wise sum over all ranks.</summary>
    void AllReduceSum(Span<float> values);

    /// <summary>Replaces <paramref name="values"/> on every rank by the element-wise sum over all ranks.</summary>
    void AllReduceSum(Span<double> values);

    /// <summary>Replaces <paramref name="values"/> on every rank by the element-wise sum over all ranks.</summary>
    void AllReduceSum(Span<long> values);

    /// <summary>Copies <paramref name="values"/> of rank <paramref name="root"/> to every rank.</summary>
    void Broadcast(Span<float> values, int root = 0);

    /// <summary>Returns when every rank has called it.</summary>
    void Barrier();
}
