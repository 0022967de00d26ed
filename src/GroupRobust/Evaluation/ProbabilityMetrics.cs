namespace GroupRobust.Evaluation;

/// <summary>
/// The metrics of predicted probabilities that SubpopBench reports (its <c>eval_helper.prob_metrics</c>): macro
/// one-vs-rest AUROC and the expected calibration error. Host arithmetic over the rows' probabilities, once per evaluation.
/// </summary>
internal static class ProbabilityMetrics
{
    /// <summary>The number of equal-width confidence bins of <see cref="ExpectedCalibrationError"/> (netcal's default, which SubpopBench uses).</summary>
    public const int CalibrationBins = 10;

    /// <summary>
    /// The mean over classes of the AUROC of "this class against the rest" scored by the class's probability (sklearn's
    /// <c>roc_auc_score(multi_class="ovr", average="macro")</c>; for two classes, the AUROC of class 1's probability),
    /// ties counted as half (average ranks). Classes with no positive or no negative row are left out; null when every
    /// class is.
    /// </summary>
    /// <param name="probabilities">Row-major [N, C] probabilities.</param>
    /// <param name="labels">The N labels in [0, C).</param>
    /// <param name="numClasses">C.</param>
    public static double? MacroAuroc(float[] probabilities, long[] labels, int numClasses)
    {
        int n = labels.Length;
        var aucs = new List<double>();
        var order = new int[n];
        var ranks = new double[n];
        for (int c = 0; c < numClasses; c++)
        {
            long positives = labels.Count(y => y == c);
            if (positives == 0 || positives == n) continue;
            for (int i = 0; i < n; i++) order[i] = i;
            Array.Sort(order, (a, b) => probabilities[a * numClasses + c].CompareTo(probabilities[b * numClasses + c]));
            // average ranks (1-based) over runs of equal scores
            for (int start = 0; start < n;)
            {
                int end = start;
                float score = probabilities[order[start] * numClasses + c];
                while (end + 1 < n && probabilities[order[end + 1] * numClasses + c] == score) end++;
                double rank = (start + end) / 2.0 + 1;
                for (int k = start; k <= end; k++) ranks[order[k]] = rank;
                start = end + 1;
            }
            double sum = 0;
            for (int i = 0; i < n; i++)
                if (labels[i] == c) sum += ranks[i];
            long negatives = n - positives;
            aucs.Add((sum - positives * (positives + 1) / 2.0) / ((double)positives * negatives));
        }
        return aucs.Count == 0 ? null : aucs.Average();
    }

    /// <summary>
    /// The expected calibration error of the top label (Guo et al., 2017): the rows binned by their highest probability
    /// into <see cref="CalibrationBins"/> equal-width bins of [0, 1], then sum over bins of (rows in bin / N) times
    /// |accuracy in bin - mean confidence in bin|. The predicted class is the first with the highest probability.
    /// </summary>
    /// <param name="probabilities">Row-major [N, C] probabilities.</param>
    /// <param name="labels">The N labels in [0, C).</param>
    /// <param name="numClasses">C.</param>
    public static double ExpectedCalibrationError(float[] probabilities, long[] labels, int numClasses)
    {
        int n = labels.Length;
        var gap = new double[CalibrationBins];
        for (int i = 0; i < n; i++)
        {
            int best = 0;
            for (int c = 1; c < numClasses; c++)
                if (probabilities[i * numClasses + c] > probabilities[i * numClasses + best]) best = c;
            double confidence = probabilities[i * numClasses + best];
            int bin = Math.Clamp((int)Math.Ceiling(confidence * CalibrationBins) - 1, 0, CalibrationBins - 1);   // (k/10, (k+1)/10]
            gap[bin] += (best == labels[i] ? 1 : 0) - confidence;
        }
        return gap.Sum(Math.Abs) / n;
    }
}
