namespace GroupRobust.Methods;

/// <summary>One standard-MixUp draw for a batch: the partner permutation and the weight lambda.</summary>
/// <param name="Permutation">Row i is mixed with row Permutation[i].</param>
/// <param name="Lambda">Weight of the row itself, in [0, 1].</param>
internal sealed record MixupDraw(long[] Permutation, double Lambda);
