using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ActorLab.Model.Transformer;

/// <summary>
/// Decoder-only Llama with muP (SPEC 3): embeddings, L pre-norm blocks, final RMSNorm, untied lm_head with the
/// muP readout logits = lm_head(h / m). Parameter names follow HF `LlamaForCausalLM` minus its `model.` prefix
/// (embed_tokens.weight, layers.0.self_attn.q_proj.weight, ..., norm.weight, lm_head.weight).
/// </summary>
public sealed class LlamaMup : nn.Module<Tensor, Tensor>
{
    public LlamaMupConfig Config { get; }
    readonly Rotary rotary;
    /// <summary>Matmul precision (see <see cref="Precision"/>); set Compute to bf16 for mixed precision on CUDA.</summary>
    public Precision Precision { get; } = new();
    public readonly Embedding embed_tokens;
    public readonly ModuleList<Block> layers;
    public readonly RmsNorm norm;
    public readonly Linear lm_head;

    /// <param name="seed">Seeds the init's own generator; null draws from torch's global one.</param>
    public LlamaMup(LlamaMupConfig cfg, long? seed = null) : base(nameof(LlamaMup))
    {
        cfg.Validate();
        Config = cfg;
        rotary = new Rotary(cfg.HeadDim, cfg.RopeTheta);
        embed_tokens = nn.Embedding(cfg.VocabSize, cfg.Width);
        layers = new ModuleList<Block>(Enumerable.Range(0, cfg.Layers).Select(_ => new Block(cfg, rotary, Precision)).ToArray());
        norm = new RmsNorm(cfg.Width, cfg.NormEps);
        lm_head = nn.Linear(cfg.Width, cfg.VocabSize, hasBias: false);
        RegisterComponents();
        InitMup(seed);
    }

    /// <summary>
    /// muP init (from its own generator when seeded): normal(0, std) everywhere; matrices whose both dims scale with d get std / sqrt(m), and o_proj
    /// additionally / sqrt(2 L) (SPEC 3 names only o_proj; down_proj keeps std / sqrt(m)). Norms start at 1.
    /// </summary>
    void InitMup(long? seed)
    {
        using var _ = no_grad();
        // a generator of its own when seeded: the init never depends on who else draws from torch's global one
        using var generator = seed is { } sd ? new Generator((ulong)sd) : null;
        double std = Config.InitStd, m = Config.WidthMult;
        foreach (var (name, p) in named_parameters())
        {
            if (name.EndsWith("layernorm.weight") || name == "norm.weight") nn.init.ones_(p);
            else if (MupParamGroups.IsHiddenMatrix(name))
            {
                var s = std / Math.Sqrt(m);
                if (name.EndsWith("o_proj.weight")) s /= Math.Sqrt(2.0 * Config.Layers);
                p.normal_(0, s, generator);
            }
            else p.normal_(0, std, generator);
        }
    }

    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>Logits [B, T, V] for token ids [B, T].</summary>
    public override Tensor forward(Tensor inputIds) => Forward(inputIds, null);

    /// <summary>
    /// Forward pass; <paramref name="captureResidual"/> (if given) sees the residual stream after each layer
    /// (0 = embeddings, l = after block l), for probes; the tensor lives in this call's dispose scope, so keep
    /// a copy with clone().DetachFromDisposeScope().
    /// </summary>
    public Tensor Forward(Tensor inputIds, Action<int, Tensor>? captureResidual)
    {
        using var scope = NewDisposeScope();
        var h = embed_tokens.forward(inputIds);
        captureResidual?.Invoke(0, h);
        for (int l = 0; l < layers.Count; l++)
        {
            h = layers[l].forward(h);
            captureResidual?.Invoke(l + 1, h);
        }
        using Scalar widthMult = Config.WidthMult; // explicit and disposed here, never left to the finalizer (TorchScalars)
        h = norm.forward(h).div(widthMult);
        return Precision.Linear(lm_head, h).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Per-position next-token loss [B, T] in nats: position t holds -log p(labels[t] | tokens before t), the HF
    /// shift (labels aligned with inputs); ignored labels (-100) and position 0 give 0.
    /// </summary>
    public static Tensor TokenLosses(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        long b = logits.shape[0], t = logits.shape[1], v = logits.shape[2];
        var shiftedLogits = logits.narrow(1, 0, t - 1).reshape(-1, v).to_type(ScalarType.Float32);
        var shiftedLabels = labels.narrow(1, 1, t - 1).reshape(-1);
        var losses = nn.functional.cross_entropy(shiftedLogits, shiftedLabels, reduction: nn.Reduction.None).view(b, t - 1);
        return nn.functional.pad(losses, [1, 0]).MoveToOuterDisposeScope();
    }

    /// <summary>Mean next-token cross-entropy over labelled positions, as HF LlamaForCausalLM computes it.</summary>
    public static Tensor MeanLoss(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        long t = logits.shape[1], v = logits.shape[2];
        var shiftedLogits = logits.narrow(1, 0, t - 1).reshape(-1, v).to_type(ScalarType.Float32);
        var shiftedLabels = labels.narrow(1, 1, t - 1).reshape(-1);
        return nn.functional.cross_entropy(shiftedLogits, shiftedLabels, ignore_index: -100).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) rotary.Dispose();
        base.Dispose(disposing);
    }
}
