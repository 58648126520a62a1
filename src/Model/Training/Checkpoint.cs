using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using ActorLab.Model.Common;
using ActorLab.Model.Transformer;
using static TorchSharp.torch;

namespace ActorLab.Model.Training;

/// <summary>trainer.json inside a checkpoint: everything that is not a tensor.</summary>
public sealed record CheckpointMeta
{
    public required long Step { get; init; }
    /// <summary>Training batches consumed from the data stream (the stream resumes at this batch index).</summary>
    public required long StreamPosition { get; init; }
    public required RunConfig Run { get; init; }
    public required LlamaMupConfig Model { get; init; }
    public required Dictionary<string, double> OptimizerScalars { get; init; }
    /// <summary>torch's CPU generator state, base64.</summary>
    public required string TorchRngState { get; init; }
    /// <summary>State of the layers above the trainer (e.g. curriculum phase), as strings.</summary>
    public Dictionary<string, string> Extra { get; init; } = new();
    public string CreatedUtc { get; init; } = DateTime.UtcNow.ToString("O");
}

/// <summary>A checkpoint in memory: weights (train point), optimiser buffers, metadata and opaque attachments (held-out splits).</summary>
public sealed class CheckpointData : IDisposable
{
    public required CheckpointMeta Meta { get; init; }
    public required Dictionary<string, Tensor> Weights { get; init; }
    public required Dictionary<string, Tensor> OptimizerTensors { get; init; }
    public Dictionary<string, byte[]> Attachments { get; init; } = new();

    public void Dispose()
    {
        foreach (var t in Weights.Values.Concat(OptimizerTensors.Values)) t.Dispose();
    }
}

/// <summary>
/// Checkpoint directories `RUN/checkpoints/step_{N}/`: model.safetensors, optimizer.safetensors, trainer.json,
/// attachments, and manifest.json (SHA-256 of every file, written last). A checkpoint is written into a temp
/// directory and renamed into place, so a crash leaves either no checkpoint or a complete one; loading verifies
/// every checksum and the trainer falls back to the previous checkpoint when the latest is damaged.
/// </summary>
public static class Checkpoints
{
    public const string Folder = "checkpoints";
    const string ModelFile = "model.safetensors", OptimizerFile = "optimizer.safetensors", MetaFile = "trainer.json",
        ManifestFile = "manifest.json", AttachmentPrefix = "attachment.";

    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string DirFor(string runDir, long step) => Path.Combine(runDir, Folder, $"step_{step}");

    /// <summary>Valid-looking checkpoint directories (by name), ascending by step.</summary>
    public static IReadOnlyList<(long Step, string Dir)> List(string runDir)
    {
        var root = Path.Combine(runDir, Folder);
        if (!Directory.Exists(root)) return [];
        return Directory.GetDirectories(root)
            .Select(d => (Name: Path.GetFileName(d), Dir: d))
            .Where(x => x.Name.StartsWith("step_") && long.TryParse(x.Name[5..], out _))
            .Select(x => (long.Parse(x.Name[5..]), x.Dir))
            .OrderBy(x => x.Item1)
            .ToArray();
    }

    public static string Write(string runDir, CheckpointData data)
    {
        var root = Path.Combine(runDir, Folder);
        Directory.CreateDirectory(root);
        var final = DirFor(runDir, data.Meta.Step);
        var tmp = Path.Combine(root, $".step_{data.Meta.Step}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(tmp);
        try
        {
            void WriteFile(string name, Action<Stream> write)
            {
                using var fs = new FileStream(Path.Combine(tmp, name), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            WriteFile(ModelFile, s => Safetensors.Write(s, data.Weights));
            WriteFile(OptimizerFile, s => Safetensors.Write(s, data.OptimizerTensors));
            WriteFile(MetaFile, s => JsonSerializer.Serialize(s, data.Meta, Json));
            foreach (var (name, bytes) in data.Attachments)
                WriteFile(AttachmentPrefix + name, s => s.Write(bytes));
            var manifest = Directory.GetFiles(tmp).Select(Path.GetFileName).Order(StringComparer.Ordinal)
                .ToDictionary(f => f!, f => Sha256(Path.Combine(tmp, f!)));
            WriteFile(ManifestFile, s => JsonSerializer.Serialize(s, manifest, Json));
            if (Directory.Exists(final))
            {
                var old = final + $".{Guid.NewGuid():N}.old";
                Directory.Move(final, old);
                Directory.Move(tmp, final);
                Directory.Delete(old, recursive: true);
            }
            else Directory.Move(tmp, final);
            return final;
        }
        catch
        {
            try { if (Directory.Exists(tmp)) Directory.Delete(tmp, true); } catch { /* best effort */ }
            throw;
        }
    }

    static string Sha256(string path)
    {
        using var fs = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(fs));
    }

    /// <summary>Reads and verifies one checkpoint; a missing or damaged one raises <see cref="UserInputException"/> naming the file.</summary>
    public static CheckpointData Read(string dir)
    {
        if (!Directory.Exists(dir)) throw new UserInputException($"checkpoint '{dir}' does not exist");
        var manifestPath = Path.Combine(dir, ManifestFile);
        if (!File.Exists(manifestPath)) throw new UserInputException($"checkpoint '{dir}' is incomplete: no {ManifestFile}");
        Dictionary<string, string> manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(manifestPath), Json)
                       ?? throw new JsonException("null");
        }
        catch (JsonException e) { throw new UserInputException($"checkpoint '{dir}': {ManifestFile} is not valid ({FileErrors.Json(e)})"); }
        foreach (var required in new[] { ModelFile, OptimizerFile, MetaFile })
            if (!manifest.ContainsKey(required)) throw new UserInputException($"checkpoint '{dir}': manifest lacks {required}");
        foreach (var (name, sha) in manifest)
        {
            if (name.Length == 0 || name != Path.GetFileName(name) || name is "." or "..")
                throw new UserInputException($"checkpoint '{dir}': {ManifestFile} names a file outside the checkpoint");
            var path = Path.Combine(dir, name);
            if (!File.Exists(path)) throw new UserInputException($"checkpoint '{dir}': {name} is missing");
            if (Sha256(path) != sha) throw new UserInputException($"checkpoint '{dir}': {name} fails its SHA-256 check (corrupt)");
        }
        try
        {
            var meta = JsonSerializer.Deserialize<CheckpointMeta>(File.ReadAllText(Path.Combine(dir, MetaFile)), Json)
                       ?? throw new InvalidDataException("empty trainer.json");
            var weights = Safetensors.Read(Path.Combine(dir, ModelFile), out _);
            var opt = Safetensors.Read(Path.Combine(dir, OptimizerFile), out _);
            var attachments = manifest.Keys.Where(k => k.StartsWith(AttachmentPrefix))
                .ToDictionary(k => k[AttachmentPrefix.Length..], k => File.ReadAllBytes(Path.Combine(dir, k)));
            var data = new CheckpointData { Meta = meta, Weights = weights, OptimizerTensors = opt, Attachments = attachments };
            try { CheckpointConsistency.Check(data, dir); }
            catch { data.Dispose(); throw; }
            return data;
        }
        catch (Exception e) when (e is JsonException or InvalidDataException)
        {
            throw new UserInputException($"checkpoint '{dir}' is unreadable: {(e is JsonException j ? "trainer.json has " + FileErrors.Json(j) : e.Message)}", e);
        }
    }

    /// <summary>The newest checkpoint that verifies; damaged newer ones are reported through <paramref name="warn"/> and skipped.</summary>
    public static (string Dir, CheckpointData Data)? ReadLatestValid(string runDir, Action<string> warn)
    {
        foreach (var (_, dir) in List(runDir).Reverse())
        {
            try { return (dir, Read(dir)); }
            catch (UserInputException e) { warn($"warning: {e.Message}; falling back to the previous checkpoint"); }
        }
        return null;
    }

    /// <summary>Deletes checkpoints that are neither among the newest <paramref name="keepLast"/> nor on the eval schedule.</summary>
    public static void Prune(string runDir, int keepLast, CheckpointSchedule schedule)
    {
        var all = List(runDir);
        var keep = all.TakeLast(Math.Max(1, keepLast)).Select(x => x.Step).ToHashSet();
        foreach (var (step, dir) in all)
            if (!keep.Contains(step) && !schedule.IsDue(step))
                Directory.Delete(dir, recursive: true);
    }
}
