using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Storage;

namespace ActorLab.Model.Tests.Storage;

/// <summary>
/// A dataset's cached files are rebuilt from its config when they are deleted or damaged, and the rebuild is
/// checked against the fingerprint recorded when it was first made: the same bytes, so a run goes on unchanged.
/// </summary>
public class DatasetStoreTests : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("actorlab-cache-").FullName;
    public void Dispose() => Directory.Delete(root, true);

    [Fact]
    public void A_deleted_or_damaged_cache_is_rebuilt_to_the_recorded_fingerprint()
    {
        var storage = new RunStorage(root, root);
        var d = DatasetConfig.Of(40, 2, false, 7, 300, ValueLists.Default, null);
        var first = DatasetStore.Ensure(storage, d, null);

        // flipped bytes in the profiles file
        var bytes = File.ReadAllBytes(first.ProfilesPath);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(first.ProfilesPath, bytes);
        Assert.NotEqual(first.Fingerprint, DatasetStore.Fingerprint(first.ProfilesPath, first.TokenizerDir));
        var repaired = DatasetStore.Ensure(storage, d, first.Fingerprint);
        Assert.Equal(first.Fingerprint, repaired.Fingerprint);

        // the tokenizer folder deleted
        Directory.Delete(first.TokenizerDir, recursive: true);
        var rebuilt = DatasetStore.Ensure(storage, d, first.Fingerprint);
        Assert.Equal(first.Fingerprint, rebuilt.Fingerprint);
        Assert.True(File.Exists(Path.Combine(rebuilt.TokenizerDir, QaTokenizer.HfTokenizerFile)));
    }
}
