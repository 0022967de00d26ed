namespace GroupRobust;

/// <summary>
/// A part of a method whose state must survive a checkpoint (GroupDRO's group weights, a mixer's statistics, LfF's loss
/// averages): it writes and reads its entries of <see cref="Methods.MethodState.Values"/>. This is the one route of a method's
/// state into checkpoints; <see cref="Methods.TrainingMethod"/> collects the parts a method tracks.
/// </summary>
public interface IResumable
{
    /// <summary>Writes the part's state as named arrays of numbers, every name starting with <paramref name="prefix"/>.</summary>
    /// <param name="values">The method state's values being assembled.</param>
    /// <param name="prefix">The part's name prefix, e.g. "groupdro/".</param>
    void WriteState(IDictionary<string, double[]> values, string prefix);

    /// <summary>
    /// Checks the part's entries of a saved state and returns the action that applies them; nothing changes before the
    /// action runs, so a state that does not fit changes nothing.
    /// </summary>
    /// <param name="values">The saved values.</param>
    /// <param name="prefix">The part's name prefix, as written.</param>
    /// <exception cref="ArgumentException">An entry is missing, has another length or holds invalid values (parameter "state").</exception>
    Action ReadState(IReadOnlyDictionary<string, double[]> values, string prefix);
}
