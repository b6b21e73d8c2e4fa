// placeholder; the page comes from the web branch
