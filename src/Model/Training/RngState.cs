using System.Buffers.Binary;
using ActorLab.Model.Common;
using static TorchSharp.torch;

namespace ActorLab.Model.Training;

/// <summary>
/// torch's CPU generator state as saved in checkpoints (trainer.json, base64). A damaged state must be refused here,
/// in managed code: handed to torch as it is, a wrong size or an invalid Mersenne Twister state can abort the
/// process instead of raising an error. The layout is libtorch's CPUGeneratorImplState: the legacy pod
/// { u64 seed; i32 left; i32 seeded; u64 next; u64 state[624]; double normal_x, normal_y, normal_rho; i32 normal_is_valid }
/// followed by the next float normal sample and its valid flag.
/// </summary>
public static class RngState
{
    const int MersenneN = 624, LeftOffset = 8, SeededOffset = 12, NextOffset = 16;

    /// <summary>Decodes and checks a saved state; the problem, or null when torch may be given it.</summary>
    public static string? Problem(string? base64, out byte[] bytes)
    {
        bytes = [];
        if (string.IsNullOrEmpty(base64)) return "the RNG state is missing";
        try { bytes = Convert.FromBase64String(base64); }
        catch (FormatException) { return "the RNG state is not valid base64"; }
        int expected = CurrentSize;
        if (bytes.Length != expected) return $"the RNG state has {bytes.Length} bytes, torch's CPU generator has {expected}";
        if (bytes.Length < NextOffset + 8) return null; // a torch build with another layout: its size matched, let it judge
        int left = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(LeftOffset));
        int seeded = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(SeededOffset));
        ulong next = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(NextOffset));
        if (seeded != 1 || left is < 1 or > MersenneN || next > MersenneN)
            return "the RNG state is not a valid Mersenne Twister state";
        return null;
    }

    /// <summary>Sets torch's CPU generator from a saved state, or raises a <see cref="UserInputException"/> naming <paramref name="where"/>.</summary>
    public static void Restore(string? base64, string where)
    {
        if (Problem(base64, out var bytes) is { } problem)
            throw new UserInputException($"checkpoint of '{where}': {problem}; the checkpoint is damaged");
        try
        {
            using var state = tensor(bytes, dtype: ScalarType.Byte);
            set_rng_state(state);
        }
        catch (Exception e) when (e is not UserInputException)
        {
            throw new UserInputException($"checkpoint of '{where}': torch refused its RNG state ({e.Message.Split('\n')[0]})");
        }
    }

    static int currentSize;

    static int CurrentSize
    {
        get
        {
            if (currentSize == 0)
            {
                using var s = get_rng_state();
                currentSize = (int)s.numel();
            }
            return currentSize;
        }
    }
}
