namespace ActorLab.Model.Training;

/// <summary>How a <see cref="TrainerCore"/> runs (not what it trains: that is the <see cref="RunConfig"/>).</summary>
public sealed record TrainerOptions
{
    /// <summary>Vocabulary size of the run's tokenizer (the embedding and lm_head rows).</summary>
    public required int VocabSize { get; init; }
    /// <summary>A torch device string: "cpu" or "cuda:N".</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>torch intra-op threads; 0 keeps torch's default.</summary>
    public int Threads { get; init; }
    /// <summary>Mixed precision on CUDA: "none" or "bf16".</summary>
    public string Amp { get; init; } = "none";
    /// <summary>Resume from the newest valid checkpoint in the run directory when there is one; otherwise fail if any exist.</summary>
    public bool Resume { get; init; } = true;
    /// <summary>Gradient exchange with the run's other replicas (data parallel); none by default.</summary>
    public IGradientExchange Gradients { get; init; } = LocalGradients.Instance;
    /// <summary>Where warnings go (corrupt checkpoints skipped, ...).</summary>
    public Action<string> Warn { get; init; } = Console.Error.WriteLine;
}
