using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ActorLab.Model.Transformer;

/// <summary>
/// Causal multi-head self-attention without biases, RoPE on q and k, muP logit scale attn_mult / head_dim.
/// TorchSharp's fused scaled_dot_product_attention always divides by sqrt(head_dim), so q is pre-multiplied by
/// attn_mult / sqrt(head_dim) to land on attn_mult / head_dim overall.
/// </summary>
public sealed class Attention : nn.Module<Tensor, Tensor>
{
    readonly int heads, headDim;
    readonly double qScale;
    readonly Rotary rotary;
    readonly Precision precision;
    public readonly Linear q_proj, k_proj, v_proj, o_proj;

    public Attention(LlamaMupConfig cfg, Rotary rotary, Precision precision) : base(nameof(Attention))
    {
        heads = cfg.Heads;
        headDim = cfg.HeadDim;
        qScale = cfg.AttnMult / Math.Sqrt(cfg.HeadDim);
        this.rotary = rotary;
        this.precision = precision;
        q_proj = nn.Linear(cfg.Width, cfg.Width, hasBias: false);
        k_proj = nn.Linear(cfg.Width, cfg.Width, hasBias: false);
        v_proj = nn.Linear(cfg.Width, cfg.Width, hasBias: false);
        o_proj = nn.Linear(cfg.Width, cfg.Width, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1], d = x.shape[2];
        Tensor Heads(Tensor y) => y.view(b, t, heads, headDim).transpose(1, 2);
        using Scalar scale = qScale; // explicit and disposed here, never left to the finalizer (TorchScalars)
        var q = rotary.Apply(Heads(precision.Linear(q_proj, x))).mul(scale);
        var k = rotary.Apply(Heads(precision.Linear(k_proj, x)));
        var v = Heads(precision.Linear(v_proj, x));
        var y = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);
        return precision.Linear(o_proj, y.transpose(1, 2).reshape(b, t, d)).MoveToOuterDisposeScope();
    }
}
