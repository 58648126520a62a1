using System.Globalization;
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
    /// <summary>Whose checkpoint this is: the run id, the hash of what it trains, and the lease epoch that wrote it (null outside a sweep).</summary>
    public string? RunId { get; init; }
    public string? ConfigHash { get; init; }
    public long? Epoch { get; init; }
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
/// Checkpoint directories `RUN/checkpoints/step_{N}[.e{epoch}]/`: model.safetensors, optimizer.safetensors,
/// trainer.json, attachments, and manifest.json (SHA-256 of every file, written last). A checkpoint is written into
/// a temp directory and renamed into place, so a crash leaves either no checkpoint or a complete one; loading
/// verifies every checksum. Sweep runs carry their lease epoch in the name and resume only from the checkpoint the
/// journal recorded (step, epoch and the manifest's SHA-256); `actorlab train` falls back to the previous
/// checkpoint when the latest is damaged.
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

    /// <summary>step_{step}, or step_{step}.e{epoch} for a checkpoint written under a lease.</summary>
    public static string DirName(long step, long? epoch) =>
        epoch is { } e ? string.Create(CultureInfo.InvariantCulture, $"step_{step}.e{e}") : string.Create(CultureInfo.InvariantCulture, $"step_{step}");

    public static string DirFor(string runDir, long step, long? epoch = null) => Path.Combine(runDir, Folder, DirName(step, epoch));

    /// <summary>(step, epoch) of a checkpoint folder name, or null if the name is not one.</summary>
    public static (long Step, long? Epoch)? ParseDirName(string name)
    {
        if (!name.StartsWith("step_", StringComparison.Ordinal)) return null;
        var rest = name[5..];
        var dot = rest.IndexOf(".e", StringComparison.Ordinal);
        var stepText = dot < 0 ? rest : rest[..dot];
        if (!long.TryParse(stepText, NumberStyles.None, CultureInfo.InvariantCulture, out var step)) return null;
        if (dot < 0) return (step, null);
        return long.TryParse(rest[(dot + 2)..], NumberStyles.None, CultureInfo.InvariantCulture, out var epoch) ? (step, epoch) : null;
    }

    /// <summary>Valid-looking checkpoint directories (by name), ascending by step, then epoch.</summary>
    public static IReadOnlyList<(long Step, string Dir)> List(string runDir) =>
        ListWithEpochs(runDir).Select(x => (x.Step, x.Dir)).ToArray();

    public static IReadOnlyList<(long Step, long? Epoch, string Dir)> ListWithEpochs(string runDir)
    {
        var root = Path.Combine(runDir, Folder);
        if (!Directory.Exists(root)) return [];
        return Directory.GetDirectories(root)
            .Select(d => (Parsed: ParseDirName(Path.GetFileName(d)), Dir: d))
            .Where(x => x.Parsed != null)
            .Select(x => (x.Parsed!.Value.Step, x.Parsed.Value.Epoch, x.Dir))
            .OrderBy(x => x.Step).ThenBy(x => x.Epoch ?? -1)
            .ToArray();
    }

    /// <summary>SHA-256 of a checkpoint's manifest.json: it covers every file through their checksums.</summary>
    public static string ManifestSha256(string dir) => Sha256(Path.Combine(dir, ManifestFile));

    /// <summary>Writes the checkpoint atomically under <paramref name="epoch"/>'s name; returns its folder.</summary>
    public static string Write(string runDir, CheckpointData data, long? epoch = null)
    {
        var root = Path.Combine(runDir, Folder);
        Directory.CreateDirectory(root);
        var final = DirFor(runDir, data.Meta.Step, epoch);
        var tmp = TempFiles.Beside(final);
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

    static string Sha256(string path) => FileHash.Sha256(path);

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

    /// <summary>Reads the checkpoint a journal recorded, refusing it unless its manifest has the recorded SHA-256.</summary>
    public static CheckpointData ReadRecorded(string dir, string manifestSha256)
    {
        var manifest = Path.Combine(dir, ManifestFile);
        if (!File.Exists(manifest)) throw new UserInputException($"recorded checkpoint '{dir}' is missing (no {ManifestFile})");
        var actual = Sha256(manifest);
        if (actual != manifestSha256)
            throw new UserInputException($"checkpoint '{dir}' is not the one recorded (manifest SHA-256 {actual[..12]}..., recorded {manifestSha256[..Math.Min(12, manifestSha256.Length)]}...)");
        return Read(dir);
    }

    /// <summary>
    /// The checkpoint a user means by <paramref name="path"/>: a checkpoint folder (RUN/checkpoints/step_N) as is, or a
    /// run folder's newest valid checkpoint (damaged newer ones are skipped with a warning).
    /// </summary>
    public static string Resolve(string path, Action<string> warn)
    {
        if (!Directory.Exists(path)) throw new UserInputException($"checkpoint '{path}' does not exist");
        if (Directory.Exists(Path.Combine(path, Folder)))
        {
            if (List(path).Count == 0) throw new UserInputException($"run '{path}' has no checkpoints yet");
            var latest = ReadLatestValid(path, warn) ?? throw new UserInputException($"run '{path}' has checkpoints but none is valid");
            latest.Data.Dispose();
            return latest.Dir;
        }
        if (!File.Exists(Path.Combine(path, ManifestFile)))
            throw new UserInputException($"'{path}' is neither a checkpoint (no {ManifestFile}) nor a run folder (no {Folder}/)");
        return path;
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

    /// <summary>
    /// Deletes checkpoints of <paramref name="epoch"/> (only its own: a lease never touches another lease's files)
    /// that are neither among its newest <paramref name="keepLast"/> nor on the eval schedule.
    /// </summary>
    public static void Prune(string runDir, int keepLast, CheckpointSchedule schedule, long? epoch = null)
    {
        var own = ListWithEpochs(runDir).Where(x => x.Epoch == epoch).ToList();
        var keep = own.TakeLast(Math.Max(1, keepLast)).Select(x => x.Step).ToHashSet();
        foreach (var (step, _, dir) in own)
            if (!keep.Contains(step) && !schedule.IsDue(step))
                Directory.Delete(dir, recursive: true);
    }
}
