using Microsoft.Extensions.Logging;

namespace GroupRobust.Internal;

/// <summary>High-performance log messages (source-generated; free when the level is off).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Identification ({Method}) found {ErrorCount} of {Count} samples in the error set ({Fraction:P1}); per class: {PerClass}")]
    public static partial void ErrorSetIdentified(ILogger logger, string method, int errorCount, int count, double fraction, string perClass);

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "The error set is empty: phase II has nothing to upsample or mix ({Method}).")]
    public static partial void EmptyErrorSet(ILogger logger, string method);

    [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "Class {Label} has all of its {Count} samples on one side of the partition: its samples have no same-class partner in the other partition and will not be mixed.")]
    public static partial void ClassOnOneSide(ILogger logger, int label, int count);

    [LoggerMessage(EventId = 145, Level = LogLevel.Warning, Message = "{Reporter} could not write ({Target}): {Reason}. Training goes on; this reporter writes nothing more.")]
    public static partial void ReporterFailed(ILogger logger, string reporter, string target, string reason);

    [LoggerMessage(EventId = 146, Level = LogLevel.Warning, Message = "{Method}'s search chose {Run}, which reads no groups and is the recipe's ERM run: on validation, the best setting that uses the groups of {Identifier}, {Best} ({BestScore:P1}), did not beat training without them ({Erm:P1}){Margin}; they are probably not the minority (check another T or another identifier).")]
    public static partial void GridChoseNoGroups(ILogger logger, string method, string run, string identifier, string best, double bestScore, double erm, string margin);

    [LoggerMessage(EventId = 150, Level = LogLevel.Warning, Message = "{Method}'s search chose {Run}, which trains as ERM does and is the recipe's ERM run: on validation, the method's best setting, {Best} ({BestScore:P1}), did not beat ERM from the same initialisation ({Erm:P1}){Margin}; it is not expected to help on this data (keep ERM, or search other settings).")]
    public static partial void GridChoseErm(ILogger logger, string method, string run, string best, double bestScore, double erm, string margin);

    [LoggerMessage(EventId = 147, Level = LogLevel.Warning, Message = "{Method}'s search skips its upsampling settings on the groups of {Identifier}{At}: their minority side holds {Share}, no minority of that class; upsampling it would make it the class's majority (the automatic lambda's guard). Settings that read no groups still train.")]
    public static partial void SearchSkipsGroups(ILogger logger, string method, string identifier, string at, string share);

    [LoggerMessage(EventId = 144, Level = LogLevel.Warning, Message = "{Method} on the groups of {Identifier}: no epoch reached a better validation worst-group accuracy ({Best:P1} at best) than phase I's best epoch, {PhaseOneEpoch} ({PhaseOne:P1}; the model at T = {T}, which identified its groups: {AtT:P1}): phase II did not improve on phase I, so its groups did not help; check them (another T, another identifier).")]
    public static partial void PhaseTwoNeverBeatPhaseOne(ILogger logger, string method, string identifier, double best, int phaseOneEpoch, double phaseOne, int t, double atT);

    [LoggerMessage(EventId = 148, Level = LogLevel.Warning, Message = "{Method}: no epoch reached a better validation worst-group accuracy ({Best:P1} at best) than phase I's best epoch, {PhaseOneEpoch} ({PhaseOne:P1}), ERM from the same initialisation: on validation the method did not improve on ERM, and its test numbers are not expected to either; check its options (another grid) or keep ERM.")]
    public static partial void MethodNeverBeatPhaseOne(ILogger logger, string method, double best, int phaseOneEpoch, double phaseOne);

    [LoggerMessage(EventId = 149, Level = LogLevel.Warning, Message = "{Method}: the new last layer's validation worst-group accuracy ({After:P1}) is not above {Reference} ({Before:P1}) on the same validation split{InSample}: retraining the head did not improve on the model it started from, and its test numbers are not expected to either; check its options or keep that model.")]
    public static partial void LastLayerNeverBeatBase(ILogger logger, string method, double after, string reference, double before, string inSample);

    [LoggerMessage(EventId = 143, Level = LogLevel.Warning, Message = "Class {Label}: the error side holds {Errors} of its {Count} samples, no minority of that class; mixing assumes it is one (alpha weights the side it takes for the majority, and its partners come from the other {Rest}); check phase I: another T, or another identifier.")]
    public static partial void ErrorSideNotAMinority(ILogger logger, int label, int errors, int count, int rest);

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "Epoch {Epoch}: {Missing} of {Count} training samples were never recorded; they are treated as correctly classified (not in the error set).")]
    public static partial void UnrecordedSamples(ILogger logger, int epoch, int missing, int count);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "Identification epoch T = {Epoch} chosen by {Criterion} ({Score:P2}); {Reason}")]
    public static partial void IdentificationEpochChosen(ILogger logger, int epoch, string criterion, double score, string reason);

    [LoggerMessage(EventId = 105, Level = LogLevel.Information, Message = "The validation split has no group labels: {Method} trains at each of the {Candidates} candidate T, and T is chosen with the epoch by validation {Rule}, which reads none (TrainJointly).")]
    public static partial void TChosenWithEpoch(ILogger logger, string method, string rule, int candidates);

    [LoggerMessage(EventId = 151, Level = LogLevel.Warning, Message = "The validation split has no group labels, so the identification rule ({Rule}) cannot choose T; T = {Epoch} by validation average accuracy, which reads none. To choose T with the phase-II epoch instead, train with TrainJointly (TwoPhaseRecipe.Run does).")]
    public static partial void NoValidationGroupsForT(ILogger logger, string rule, int epoch);

    [LoggerMessage(EventId = 110, Level = LogLevel.Information, Message = "JTT upsampling: {ErrorCount} error samples repeated lambda = {Lambda} extra times; epoch length {EpochLength} (dataset {Count}).")]
    public static partial void JttConfigured(ILogger logger, int errorCount, int lambda, long epochLength, int count);

    // information, not a warning: an explicit lambda = 0 is asked for (JTT's default search trains one; TwoPhaseRecipe warns when it wins)
    [LoggerMessage(EventId = 111, Level = LogLevel.Information, Message = "JTT lambda {Requested} resolves to {Lambda}: {Reason}")]
    public static partial void JttLambdaAdjusted(ILogger logger, int requested, int lambda, string reason);

    [LoggerMessage(EventId = 120, Level = LogLevel.Warning, Message = "Mixing epoch {Epoch}: {Unmixed} of {Seen} samples had no partner and were not mixed (per class: {PerClass}).")]
    public static partial void UnmixedSamples(ILogger logger, int epoch, long unmixed, long seen, string perClass);

    [LoggerMessage(EventId = 121, Level = LogLevel.Information, Message = "Mixing epoch {Epoch}: {Mixed} mixed, {Unmixed} unmixed; alpha mean {AlphaMean:F3} (min {AlphaMin:F3}, max {AlphaMax:F3}, {Draws} draws).")]
    public static partial void MixingEpochSummary(ILogger logger, int epoch, long mixed, long unmixed, double alphaMean, double alphaMin, double alphaMax, long draws);

    [LoggerMessage(EventId = 130, Level = LogLevel.Warning, Message = "GroupDRO: {Message}")]
    public static partial void GroupDroWarning(ILogger logger, string message);

    [LoggerMessage(EventId = 140, Level = LogLevel.Information, Message = "{Method}: epoch {Epoch}/{Epochs}, train loss {Loss:F4}, validation average {Average:P1}, worst-group {Worst:P1}{Best}")]
    private static partial void EpochCompletedCore(ILogger logger, string method, int epoch, int epochs, double loss, double average, double worst, string best);

    public static void EpochCompleted(ILogger logger, string method, int epoch, int epochs, double loss, double average, double worst, bool best)
        => EpochCompletedCore(logger, method, epoch, epochs, loss, average, worst, best ? " (best so far)" : "");

    [LoggerMessage(EventId = 141, Level = LogLevel.Information, Message = "{Method}: selected epoch {Epoch} by {Criterion}")]
    public static partial void BestEpochSelected(ILogger logger, string method, int epoch, string criterion);

    [LoggerMessage(EventId = 142, Level = LogLevel.Information, Message = "{Method}: resumed after epoch {Epoch} from {Path}")]
    public static partial void TrainingResumed(ILogger logger, string method, int epoch, string path);
}
