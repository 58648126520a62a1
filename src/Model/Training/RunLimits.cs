namespace ActorLab.Model.Training;

/// <summary>
/// The ranges a run's settings must lie in, shared by `actorlab train` (<see cref="TrainerCore"/>) and sweep files,
/// so both refuse the same nonsense before anything is allocated: a learning rate of Infinity or 1e30 trains straight
/// to NaN, a beta of 0 or 1 either never averages or divides by zero in the schedule-free average, and a batch of a
/// billion sequences or a model of a million layers could never fit (<see cref="MemoryEstimate"/> then checks the
/// rest against the machine).
/// </summary>
public static class RunLimits
{
    /// <summary>Learning rate: in (0, MaxLr].</summary>
    public const double MaxLr = 10;
    /// <summary>Weight decay: in [0, MaxWeightDecay].</summary>
    public const double MaxWeightDecay = 100;
    /// <summary>Adam betas: in the open interval (0, 1).</summary>
    public static bool IsBeta(double beta) => beta > 0 && beta < 1;
    public static bool IsLr(double lr) => lr > 0 && lr <= MaxLr;
    public static bool IsWeightDecay(double wd) => wd >= 0 && wd <= MaxWeightDecay;
    public const int MaxLayers = 256;
    /// <summary>Parameter budget P: at most a trillion (keeps every size computation far from overflow).</summary>
    public const long MaxParamBudget = 1_000_000_000_000;
    public const int MaxBatchSize = Qa.QaStream.MaxBatchSize;
    public const int MaxSeqLen = Qa.QaStream.MaxSeqLen;
    /// <summary>Question orders: a non-empty subset of {1, 2} that contains 1 (every fact is seen in 1-hop form, SPEC 2.3).</summary>
    public static string? OrdersProblem(IReadOnlyCollection<int> orders) =>
        orders.Count == 0 ? "the list is empty"
        : orders.Any(o => o is not (1 or 2)) ? "orders are 1 and 2"
        : orders.Distinct().Count() != orders.Count ? "an order appears twice"
        : !orders.Contains(1) ? "2-hop questions need 1-hop ones too: every fact is seen in 1-hop form (SPEC 2.3)"
        : null;
    /// <summary>Questions per eval mode: at most ten million (SPEC 4 asks for at least 1000).</summary>
    public const int MaxEvalQuestions = 10_000_000;
    /// <summary>torch intra-op threads.</summary>
    public const int MaxThreads = 1024;
}
