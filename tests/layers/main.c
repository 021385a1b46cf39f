/* Linked whole with one layer's library and the layers below it
 * (meson.build): it links only if the layer calls nothing above it. */
int
main(void)
{
	return 0;
}
