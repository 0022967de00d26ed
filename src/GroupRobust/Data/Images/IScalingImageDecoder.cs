namespace GroupRobust.Data.Images;

/// <summary>
/// A decoder that also crops and resizes natively (GroupRobust.Imaging's SkiaImageDecoder does, in Skia), so that
/// <see cref="ImageFileDataset"/> can build a batch without a tensor operation per image: it decodes the batch's images
/// in parallel straight to the resized size, then converts and normalises the whole batch at once.
/// </summary>
public interface IScalingImageDecoder : IImageDecoder
{
    /// <summary>
    /// Decodes <paramref name="path"/>, takes the centred square of side <paramref name="preCrop"/> when given (as
    /// torchvision's CenterCrop: offsets rounded half away from zero), resizes it to <paramref name="height"/> x
    /// <paramref name="width"/> with antialiased (averaging) interpolation, and writes the RGB bytes, row-major, into
    /// <paramref name="destination"/> (length height x width x 3). Safe to call from several threads at once.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a decodable image, or is smaller than the crop (the message names it).</exception>
    void DecodeResized(string path, int? preCrop, int height, int width, Span<byte> destination);

    /// <summary>
    /// As <see cref="DecodeResized"/>, but resizes the box <paramref name="box"/> chooses from the (pre-cropped) image's
    /// width and height, mirrored left-right when it says so (train-time augmentation, <see cref="ImageAugmentation"/>).
    /// </summary>
    void DecodeBox(string path, int? preCrop, Func<int, int, (int Left, int Top, int Width, int Height, bool Flip)> box, int height, int width, Span<byte> destination);
}
