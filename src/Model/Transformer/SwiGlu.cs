using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ActorLab.Model.Transformer;

/// <summary>Llama MLP: down(silu(gate(x)) * up(x)), hidden 4d, no biases.</summary>
public sealed class SwiGlu : nn.Module<Tensor, Tensor>
{
    readonly Precision precision;
    public readonly Linear gate_proj, up_proj, down_proj;

    public SwiGlu(LlamaMupConfig cfg, Precision precision) : base(nameof(SwiGlu))
    {
        this.precision = precision;
        gate_proj = nn.Linear(cfg.Width, cfg.Hidden, hasBias: false);
        up_proj = nn.Linear(cfg.Width, cfg.Hidden, hasBias: false);
        down_proj = nn.Linear(cfg.Hidden, cfg.Width, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = nn.functional.silu(precision.Linear(gate_proj, x)) * precision.Linear(up_proj, x);
        return precision.Linear(down_proj, h).MoveToOuterDisposeScope();
    }
}
