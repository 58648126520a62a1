using ActorLab.Model.Common;
using static TorchSharp.torch;

namespace ActorLab.Model.Transformer;

/// <summary>
/// Rotary position embedding in the HF Llama layout (rotate_half: the two halves of each head form the pairs),
/// so exported weights behave identically in `transformers`. Tables are cached per device and length.
/// </summary>
public sealed class Rotary : IDisposable
{
    readonly int headDim;
    readonly double theta;
    Tensor? cos, sin;

    public Rotary(int headDim, double theta)
    {
        this.headDim = headDim;
        this.theta = theta;
    }

    (Tensor cos, Tensor sin) Tables(long seqLen, Device device, ScalarType dtype)
    {
        if (cos is null || cos.shape[0] < seqLen || cos.device_type != device.type || cos.device_index != device.index || cos.dtype != dtype)
        {
            cos?.Dispose();
            sin?.Dispose();
            using var scope = NewDisposeScope();
            var invFreq = 1.0 / pow(theta, arange(0, headDim, 2, dtype: ScalarType.Float64) / headDim);
            var t = arange(Math.Max(seqLen, 1), dtype: ScalarType.Float64);
            var freqs = outer(t, invFreq);
            var emb = cat([freqs, freqs], -1);
            cos = emb.cos().to(dtype, device).DetachFromDisposeScope();
            sin = emb.sin().to(dtype, device).DetachFromDisposeScope();
        }
        return (cos.narrow(0, 0, seqLen), sin!.narrow(0, 0, seqLen));
    }

    /// <summary>Rotates x of shape [B, H, T, head_dim].</summary>
    public Tensor Apply(Tensor x)
    {
        var (c, s) = Tables(x.shape[2], x.device, x.dtype);
        using var scope = NewDisposeScope();
        var half = headDim / 2;
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        var rotated = cat([-x2, x1], -1);
        return (x * c).add(rotated * s, TorchScalars.One).MoveToOuterDisposeScope(); // explicit alpha (TorchScalars)
    }

    public void Dispose()
    {
        cos?.Dispose();
        sin?.Dispose();
    }
}
