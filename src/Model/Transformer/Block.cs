using ActorLab.Model.Common;
using TorchSharp;
using static TorchSharp.torch;

namespace ActorLab.Model.Transformer;

/// <summary>One pre-norm Llama decoder layer: x + attn(norm(x)), then x + mlp(norm(x)).</summary>
public sealed class Block : nn.Module<Tensor, Tensor>
{
    public readonly RmsNorm input_layernorm, post_attention_layernorm;
    public readonly Attention self_attn;
    public readonly SwiGlu mlp;

    public Block(LlamaMupConfig cfg, Rotary rotary, Precision precision) : base(nameof(Block))
    {
        input_layernorm = new RmsNorm(cfg.Width, cfg.NormEps);
        self_attn = new Attention(cfg, rotary, precision);
        post_attention_layernorm = new RmsNorm(cfg.Width, cfg.NormEps);
        mlp = new SwiGlu(cfg, precision);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        // residual adds with an explicit alpha, never one TorchSharp makes and the GC may free mid-call (TorchScalars)
        var h = x.add(self_attn.forward(input_layernorm.forward(x)), TorchScalars.One);
        return h.add(mlp.forward(post_attention_layernorm.forward(h)), TorchScalars.One).MoveToOuterDisposeScope();
    }
}
