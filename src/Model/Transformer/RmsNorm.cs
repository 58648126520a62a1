using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ActorLab.Model.Transformer;

/// <summary>RMSNorm as in Llama: x / sqrt(mean(x^2) + eps) * weight, computed in float32.</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    readonly double eps;
    public readonly Parameter weight;

    public RmsNorm(int dim, double eps) : base(nameof(RmsNorm))
    {
        this.eps = eps;
        weight = new Parameter(ones(dim));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var xf = x.to_type(ScalarType.Float32);
        var normed = xf * rsqrt(xf.pow(2).mean([-1L], keepdim: true) + eps);
        return (weight * normed.to_type(x.dtype)).MoveToOuterDisposeScope();
    }
}
