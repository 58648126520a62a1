using ActorLab.Model.Common;
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
        // every Scalar explicit (TorchScalars: an implicit one can be freed by the GC while libtorch reads it)
        using Scalar two = 2, epsilon = eps;
        var normed = xf * rsqrt(xf.pow(two).mean([-1L], keepdim: true).add(epsilon, TorchScalars.One));
        return (weight * normed.to_type(x.dtype)).MoveToOuterDisposeScope();
    }
}
