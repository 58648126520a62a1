namespace ActorLab.Model.Transformer;

/// <summary>
/// Shape of a Llama-muP model (SPEC 3). Width d and base width d0 come from parameter budgets via
/// <see cref="WidthFor"/>; the muP width multiplier m = d / d0 scales init, learning rates and the readout.
/// </summary>
public sealed record LlamaMupConfig
{
    public required int VocabSize { get; init; }
    public required int Width { get; init; }
    public required int Layers { get; init; }
    public required int BaseWidth { get; init; }
    public int HeadDim { get; init; } = 16;
    /// <summary>Attention logits are q.k * AttnMult / HeadDim (muP), not / sqrt(HeadDim).</summary>
    public double AttnMult { get; init; } = 1.0;
    public double RopeTheta { get; init; } = 10000.0;
    public double InitStd { get; init; } = 0.02;
    public double NormEps { get; init; } = 1e-6;
    /// <summary>Longest sequence the RoPE tables are precomputed for (longer inputs extend them on the fly).</summary>
    public int MaxSeqLen { get; init; } = 512;

    public int Heads => Width / HeadDim;
    public int Hidden => 4 * Width;
    public double WidthMult => (double)Width / BaseWidth;

    /// <summary>d = floor(sqrt((P - 320000) / (12 L))) rounded down to a multiple of 16, at least 16.</summary>
    public static int WidthFor(double paramBudget, int layers)
    {
        if (layers < 1) throw new ArgumentOutOfRangeException(nameof(layers), "layers must be >= 1");
        var inner = (paramBudget - 320000) / (12.0 * layers);
        if (!(inner > 0)) return 16;
        var d = (int)Math.Floor(Math.Sqrt(inner));
        return Math.Max(16, d / 16 * 16);
    }

    /// <summary>
    /// The smallest budget that sizes a model at all: width 16 needs P - 320000 >= 12 L 16^2. Below it every budget
    /// would silently give the same width-16 model, so budgets under it are refused.
    /// </summary>
    public static long MinBudget(int layers) => 320_000 + 12L * layers * 16 * 16;

    /// <summary>muP base width: the width the sizing gives a 900000 L / 4 budget.</summary>
    public static int BaseWidthFor(int layers) => WidthFor(900000.0 * layers / 4, layers);

    public static LlamaMupConfig FromBudget(long paramBudget, int layers, int vocabSize, int maxSeqLen = 512) => new()
    {
        VocabSize = vocabSize,
        Width = WidthFor(paramBudget, layers),
        Layers = layers,
        BaseWidth = BaseWidthFor(layers),
        MaxSeqLen = maxSeqLen,
    };

    /// <summary>Exact parameter count of the model this config builds (no biases, untied head).</summary>
    public long ParameterCount
    {
        get
        {
            long d = Width, v = VocabSize;
            long perLayer = 4 * d * d + 3 * d * Hidden + 2 * d;
            return v * d + Layers * perLayer + d + d * v;
        }
    }

    public void Validate()
    {
        if (VocabSize < 2) throw new ArgumentException($"vocab size must be >= 2, got {VocabSize}");
        if (Width < HeadDim || Width % HeadDim != 0) throw new ArgumentException($"width {Width} must be a positive multiple of head_dim {HeadDim}");
        if (HeadDim % 2 != 0) throw new ArgumentException("head_dim must be even (RoPE rotates pairs)");
        if (Layers < 1) throw new ArgumentException("layers must be >= 1");
        if (BaseWidth < 1) throw new ArgumentException("base width must be >= 1");
    }
}
