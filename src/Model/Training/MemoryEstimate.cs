using System.Globalization;
using ActorLab.Model.Common;
using ActorLab.Model.Transformer;

namespace ActorLab.Model.Training;

/// <summary>
/// Peak memory of one training replica, estimated from the shapes alone, before anything is allocated: a run that
/// cannot fit (`--batch-size 65536 --seq-len 65536`, a 10^15-parameter budget) is refused with the figures instead of
/// exhausting the machine. Everything is fp32 (bf16 autocast keeps fp32 weights and saves little at these sizes):
/// - parameters and their gradients: 2 P floats;
/// - optimiser state: two buffers per parameter (schedule-free: z and the second moment; AdamW: both moments);
/// - activations kept for backward, per token: about 29 d per block (norms, q/k/v before and after RoPE, attention
///   output, SwiGLU's four 4d tensors, residuals) plus H x T attention weights when attention is not fused, and the
///   logits three times (logits, softmax, gradient) plus the embeddings;
/// - token batches: int ids and labels for the few batches in flight, int64 copies on the device.
/// It is an estimate (within a small factor of torch's real peak), meant to refuse the impossible, not to tune.
/// </summary>
public sealed record MemoryEstimate(long ParameterBytes, long OptimizerBytes, long ActivationBytes, long BatchBytes)
{
    public long TotalBytes => Sum(ParameterBytes, OptimizerBytes, ActivationBytes, BatchBytes);

    /// <summary>No accelerator we run on has more than this; the host's memory is read from the runtime.</summary>
    public const long AcceleratorBytes = 256L << 30;

    public static MemoryEstimate ForTraining(LlamaMupConfig model, int batchSize, int seqLen)
    {
        const double Float = 4;
        double p = model.ParameterCount, tokens = (double)batchSize * seqLen;
        double d = model.Width, layers = model.Layers, heads = model.Heads, vocab = model.VocabSize;
        double perToken = layers * (29 * d + heads * (double)seqLen) + 3 * vocab + 2 * d;
        const double batchesInFlight = 6; // prefetch read-ahead + the one training + the one being built
        return new MemoryEstimate(
            Bytes(2 * p * Float),
            Bytes(2 * p * Float),
            Bytes(tokens * perToken * Float),
            Bytes(tokens * (batchesInFlight * 2 * sizeof(int) + 2 * sizeof(long))));
    }

    /// <summary>Memory a run on <paramref name="device"/> may use: the host's (or container's) memory on CPU.</summary>
    public static long AvailableBytes(string device) =>
        device == "cpu" ? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes : AcceleratorBytes;

    /// <summary>Refuses a run whose estimate exceeds what <paramref name="device"/> has, naming the culprit settings.</summary>
    public void CheckFits(string device, string settings)
    {
        long available = AvailableBytes(device);
        long hostNeeds = device == "cpu" ? TotalBytes : BatchBytes;
        long hostHas = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (TotalBytes <= available && hostNeeds <= hostHas) return;
        throw new UserInputException(string.Create(CultureInfo.InvariantCulture,
            $"{settings} needs about {Format(TotalBytes)} of memory (parameters and gradients {Format(ParameterBytes)}, optimizer {Format(OptimizerBytes)}, " +
            $"activations {Format(ActivationBytes)}, batches {Format(BatchBytes)}), more than the {Format(Math.Min(available, hostHas))} {(device == "cpu" ? "this machine has" : device + " may have")}; use a smaller batch, sequence or model."));
    }

    public static string Format(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.Length - 1) { v /= 1024; u++; }
        return string.Create(CultureInfo.InvariantCulture, $"{v:0.#} {units[u]}");
    }

    static long Bytes(double b) => b >= long.MaxValue ? long.MaxValue : (long)Math.Ceiling(b);

    static long Sum(params long[] parts)
    {
        long total = 0;
        foreach (var x in parts) total = total > long.MaxValue - x ? long.MaxValue : total + x;
        return total;
    }
}
